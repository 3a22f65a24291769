/// A binary min-heap of (last-seen time, key) pairs, one per port, so the port that must give
/// up an entry finds its least recently seen one in O(log n). Stale pairs (the entry was
/// refreshed, moved or removed since) are skipped lazily by the owner.
struct AgeHeap<Key> {
    private(set) var items: [(time: UInt64, key: Key)] = []

    var count: Int { items.count }
    var top: (time: UInt64, key: Key)? { items.first }

    mutating func push(_ time: UInt64, _ key: Key) {
        items.append((time, key))
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard items[i].time < items[parent].time else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    @discardableResult
    mutating func pop() -> (time: UInt64, key: Key)? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let out = items.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < items.count && items[l].time < items[m].time { m = l }
            if r < items.count && items[r].time < items[m].time { m = r }
            if m == i { break }
            items.swapAt(i, m)
            i = m
        }
        return out
    }

    /// Rebuilds from `live` pairs (drops stale ones).
    mutating func rebuild(_ live: [(UInt64, Key)]) {
        items = []
        items.reserveCapacity(live.count)
        for (t, k) in live { push(t, k) }
    }
}
