/// Collects the `FDBChanges` of many table operations (a batch of learn events) into one, in
/// time linear in the number of changes. `FDBChanges.merge` scans both lists on every call,
/// which is quadratic over a batch of tens of thousands of events.
///
/// The result applies (removals, then installs) to the same FDB as merging the same changes
/// one by one: the last change to a key wins, and a key installed twice is installed once,
/// with its last entry.
struct FDBChangesBuilder {
    /// Installs in first-seen order; nil where a later removal cancelled one.
    private var install: [FDBEntry?] = []
    private var installAt: [FDBKey: Int] = [:]
    /// Removals in first-seen order; nil where a later install cancelled one.
    private var remove: [FDBKey?] = []
    private var removeAt: [FDBKey: Int] = [:]

    init(expectedChanges: Int = 0) {
        install.reserveCapacity(expectedChanges)
        installAt.reserveCapacity(expectedChanges)
    }

    var isEmpty: Bool { installAt.isEmpty && removeAt.isEmpty }

    /// Adds `c` after everything added so far (its removals before its installs, as
    /// `SwitchController` applies them).
    mutating func add(_ c: FDBChanges) {
        for k in c.remove {
            if let i = installAt.removeValue(forKey: k) { install[i] = nil }
            if removeAt[k] == nil {
                removeAt[k] = remove.count
                remove.append(k)
            }
        }
        for e in c.install {
            if let i = removeAt.removeValue(forKey: e.key) { remove[i] = nil }
            if let i = installAt[e.key] {
                install[i] = e
            } else {
                installAt[e.key] = install.count
                install.append(e)
            }
        }
    }

    /// Everything added, as one set of changes.
    var changes: FDBChanges {
        FDBChanges(install: install.compactMap { $0 }, remove: remove.compactMap { $0 })
    }
}
