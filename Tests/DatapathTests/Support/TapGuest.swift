import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A TAP "VM guest": a python3 process that creates tap `name`, holds its fd and answers ARP
/// and ICMP echo for `ip` with `mac`, as a VM's kernel would. It lives at most `lifetime`
/// seconds (timeout(1)); `stop()` (call it from `defer`) ends it and the tap goes with it.
final class TapGuest {
    let name: String
    let mac: String
    let ip: String
    private let process: Process
    private let scriptPath: String
    private let logPath: String
    private var stopped = false

    static let script = #"""
import fcntl, os, select, struct, sys, time
name, mac, ip = sys.argv[1], bytes.fromhex(sys.argv[2].replace(":", "")), bytes(int(x) for x in sys.argv[3].split("."))
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, 0x400454CA, struct.pack("16sH", name.encode(), 0x0002 | 0x1000))  # TUNSETIFF, IFF_TAP|IFF_NO_PI
print("guest: holding", name, flush=True)
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b)); s = (s >> 16) + (s & 0xFFFF); s += s >> 16
    return (~s) & 0xFFFF
end = time.time() + float(sys.argv[4])
while time.time() < end:
    r, _, _ = select.select([fd], [], [], 0.5)
    if not r: continue
    f = os.read(fd, 65536)
    if len(f) < 14: continue
    dst, src, et = f[0:6], f[6:12], struct.unpack("!H", f[12:14])[0]
    if et == 0x0806 and len(f) >= 42 and f[20:22] == b"\x00\x01" and f[38:42] == ip:
        os.write(fd, src + mac + b"\x08\x06" + f[14:20] + b"\x00\x02" + mac + ip + f[22:28] + f[28:32])
    elif et == 0x0800 and dst == mac and len(f) >= 34 and f[23] == 1 and f[30:34] == ip:
        ihl = (f[14] & 0x0F) * 4; icmp = f[14 + ihl:]
        if icmp[0] != 8: continue
        icmp = b"\x00\x00\x00\x00" + icmp[4:]; icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
        hdr = bytearray(f[14:14 + ihl]); hdr[12:16], hdr[16:20] = f[30:34], f[26:30]; hdr[10:12] = b"\0\0"
        hdr[8] = 64; hdr[10:12] = struct.pack("!H", csum(bytes(hdr)))
        os.write(fd, src + mac + b"\x08\x00" + bytes(hdr) + icmp)
"""#

    /// Starts the guest and waits (at most 5 s) until the tap exists; then sets it up.
    init(mac: String, ip: String, lifetime: Int = 60) throws {
        name = UniqueName.make("fpg")
        self.mac = mac
        self.ip = ip
        scriptPath = NSTemporaryDirectory() + name + ".py"
        logPath = NSTemporaryDirectory() + name + ".log"
        try TapGuest.script.write(toFile: scriptPath, atomically: true, encoding: .utf8)
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        p.arguments = ["-k", "2", String(lifetime + 5), "python3", "-u", scriptPath, name, mac, ip, String(lifetime)]
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        p.standardOutput = log
        p.standardError = log
        p.standardInput = FileHandle.nullDevice
        try p.run()
        process = p
        var up = false
        for _ in 0..<100 {
            if if_nametoindex(name) != 0 { up = true; break }
            if !p.isRunning { break }
            usleep(50_000)
        }
        guard up else {
            let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            stop()
            throw TestSupportError("tap guest \(name) did not come up: \(text)")
        }
        try? "1".write(toFile: "/proc/sys/net/ipv6/conf/\(name)/disable_ipv6", atomically: false, encoding: .utf8)
        do { try Command.check(["ip", "link", "set", "dev", name, "up"]) } catch { stop(); throw error }
    }

    var isRunning: Bool { process.isRunning }
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// TERM, bounded wait, then KILL the guest's process group.
    func stop() {
        guard !stopped else { return }
        stopped = true
        // timeout(1) leads its own process group (it and the python guest, both ours): TERM
        // may be masked in the child, so KILL the group after a short grace period.
        let pid = process.processIdentifier
        if process.isRunning { kill(-pid, SIGTERM); process.terminate() }
        for _ in 0..<25 where process.isRunning { usleep(20_000) }
        if process.isRunning { kill(-pid, SIGKILL); kill(pid, SIGKILL) }
        process.waitUntilExit()
        // The tap dies with the fd; make sure (bounded) before the next test reuses nothing.
        for _ in 0..<50 where if_nametoindex(name) != 0 { usleep(20_000) }
        if if_nametoindex(name) != 0 { _ = try? Command.run(["ip", "link", "del", "dev", name]) }
        try? FileManager.default.removeItem(atPath: scriptPath)
        try? FileManager.default.removeItem(atPath: logPath)
    }

    deinit { stop() }
}
