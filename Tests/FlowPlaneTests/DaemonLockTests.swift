import Testing
@testable import FlowPlane

/// Two daemons must not drive one pin root: its lock file lives outside bpffs, one per canonical path.
@Suite struct DaemonLockTests {
    @Test func pinRootLockIsPerCanonicalPath() {
        let a = FlowPlaneDaemon.pinRootLockBase("/sys/fs/bpf/flowplane")
        #expect(a == "/run/flowplane/pin-root_sys_fs_bpf_flowplane")
        #expect(FlowPlaneDaemon.pinRootLockBase("/sys/fs/bpf/flowplane/") == a)
        #expect(FlowPlaneDaemon.pinRootLockBase("/sys/fs/bpf//flowplane") == a)
        #expect(FlowPlaneDaemon.pinRootLockBase("/sys/fs/bpf/other") != a)
    }
}
