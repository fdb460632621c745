// `uvm bench`: the foundation's performance figures, measured on the real code paths.
//
// Targets: a zero-fill fault within a quarter of the real kernel's first-touch fault
// (≤ 0.5 µs here), map operations flat from 10 to 60,000 entries, ≤ 64 bytes of metadata per
// physical page.

#if canImport(Glibc)
import Glibc
#endif
import UVMCore
import UVMKernel
import UVMMachine
import UVMScenario
import UVMSched

public struct BenchFigure: Sendable {
    public let name: String
    public let value: Double
    public let unit: String
    public let target: String
}

@Sim
public enum Bench {
    /// Runs every benchmark; `scale` shrinks the work for a quick check (1 = full size). However
    /// large the scale, each benchmark keeps a few pages and runs, so every figure is a rate of
    /// something measured, never a division by zero.
    public static func run(scale: Int = 1, only: String? = nil) async -> [BenchFigure] {
        func scaled(_ n: Int) -> Int { max(4, n / max(scale, 1)) }
        if only == "faults" { return await faults(pages: scaled(65_536)) }
        if only == "wiring" { return await wiring(pages: scaled(65_536)) }
        if only == "schedules" { return [await schedules(runs: scaled(4000))] }
        // First, while the heap is fresh: the resident-set measurement needs new memory.
        var out: [BenchFigure] = [metadataPerPage()]
        out += hostFigures(pages: scaled(16_384))
        let pages = scaled(65_536)
        out += await faults(pages: pages)
        for n in [10, scaled(60_000)] { out.append(await mapChurn(entries: n, pairs: scaled(20_000))) }
        out.append(await fork(pages: pages))
        out += await wiring(pages: pages / 4)
        out += await pageDaemon(pages: pages / 4)
        out.append(await schedules(runs: scaled(4000)))
        return out
    }

    /// Runs `body` as the only simulated thread of a fresh kernel with `pageCount` pages.
    private static func withKernel(pageCount: Int, _ body: @escaping (Kernel, LWP) async throws -> Void) async {
        let sched = Scheduler()
        let k = Kernel(sched: sched, config: MachineConfig(pageCount: pageCount, wiredMax: pageCount))
        let p = k.createProc(name: "bench", uid: 0, memlockLimit: .max)
        let lwp = p.lwps[0]
        let failure = await sched.run([(lwp.thread, { try await body(k, lwp) })])
        precondition(failure == nil, "benchmark failed: \(failure!)")
    }

    /// How many per second at `seconds` each; a time too short for the clock has no rate.
    private static func perSecond(_ seconds: Double) -> String {
        guard seconds > 0, let n = Int(exactly: (1 / seconds).rounded()) else { return "-" }
        return String(n)
    }

    private static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    /// Zero-fill faults (first touch of anonymous memory, by a load: the page's contents stay
    /// lazily zero), re-faults of resident anon pages after the pmap was thrown away, and write
    /// faults, which also pay for the host's first touch of the page's 4 KiB of contents.
    static func faults(pages: Int) async -> [BenchFigure] {
        var zeroFill = 0.0, refault = 0.0, writeFault = 0.0
        await withKernel(pageCount: pages + 64) { k, lwp in
            let ps = UInt64(k.pageSize)
            let base = try await k.mmap(lwp, .anon, length: UInt64(pages) * ps, prot: [.read, .write],
                                        maxProt: .all, shared: false, fixed: nil)
            let clock = ContinuousClock()
            let t0 = clock.now
            for i in 0..<UInt64(pages) { _ = try await k.load(lwp, base + i * ps) }
            zeroFill = seconds(clock.now - t0) / Double(pages)
            lwp.proc!.map.pmap.removeAll()
            let t1 = clock.now
            for i in 0..<UInt64(pages) { _ = try await k.load(lwp, base + i * ps) }
            refault = seconds(clock.now - t1) / Double(pages)
            lwp.proc!.map.pmap.removeAll()
            let t2 = clock.now
            for i in 0..<UInt64(pages) { try await k.store(lwp, base + i * ps, 1) }
            writeFault = seconds(clock.now - t2) / Double(pages)
        }
        return [
            BenchFigure(name: "zero-fill fault", value: zeroFill * 1e9, unit: "ns/fault (\(perSecond(zeroFill)) faults/s)", target: "≤ 500 ns"),
            BenchFigure(name: "resident re-fault", value: refault * 1e9, unit: "ns/fault (\(perSecond(refault)) faults/s)", target: "-"),
            BenchFigure(name: "write fault, first store to page", value: writeFault * 1e9, unit: "ns/fault", target: "-"),
        ]
    }

    /// mmap + munmap of one page in a map that already has `entries` entries.
    static func mapChurn(entries: Int, pairs: Int) async -> BenchFigure {
        var perPair = 0.0
        await withKernel(pageCount: 64) { k, lwp in
            let ps = UInt64(k.pageSize)
            // Entries with holes between them, so that none merges.
            for i in 0..<UInt64(entries) {
                _ = try await k.mmap(lwp, .anon, length: ps, prot: [.read], maxProt: .all, shared: false,
                                     fixed: mmapBase + i * 2 * ps)
            }
            let clock = ContinuousClock()
            let t0 = clock.now
            for _ in 0..<pairs {
                let a = try await k.mmap(lwp, .anon, length: ps, prot: [.read, .write], maxProt: .all, shared: false, fixed: nil)
                try await k.munmap(lwp, a, ps)
            }
            perPair = seconds(clock.now - t0) / Double(pairs)
        }
        return BenchFigure(name: "mmap+munmap, \(entries) entries", value: perPair * 1e9, unit: "ns/pair",
                           target: "flat from 10 to 60,000 entries")
    }

    /// mlock and munlock per page, of untouched and of touched anonymous memory, and SHM_LOCK
    /// per page of a segment.
    static func wiring(pages: Int) async -> [BenchFigure] {
        var figures: [BenchFigure] = []
        await withKernel(pageCount: pages * 2 + 64) { k, lwp in
            let ps = UInt64(k.pageSize)
            let len = UInt64(pages) * ps
            let clock = ContinuousClock()
            for touched in [false, true] {
                let base = try await k.mmap(lwp, .anon, length: len, prot: [.read, .write], maxProt: .all, shared: false, fixed: nil)
                if touched { try await k.fill(lwp, base, len, 3) }
                let t0 = clock.now
                try await k.mlock(lwp, base, len)
                let t1 = clock.now
                try await k.munlock(lwp, base, len)
                let t2 = clock.now
                try await k.munmap(lwp, base, len)
                let what = touched ? "touched" : "untouched"
                figures.append(BenchFigure(name: "mlock, \(what) memory", value: seconds(t1 - t0) / Double(pages) * 1e9,
                                           unit: "ns/page", target: "≤ 1/4 of the host's mlock per page"))
                figures.append(BenchFigure(name: "munlock, \(what) memory", value: seconds(t2 - t1) / Double(pages) * 1e9,
                                           unit: "ns/page", target: "-"))
            }
            let id = try await k.shmget(lwp, size: len)
            let t0 = clock.now
            try await k.shmctl(lwp, id: id, .lock)
            figures.append(BenchFigure(name: "SHM_LOCK", value: seconds(clock.now - t0) / Double(pages) * 1e9,
                                       unit: "ns/page", target: "-"))
            try await k.shmctl(lwp, id: id, .unlock)
            try await k.shmctl(lwp, id: id, .remove)
        }
        return figures
    }

    /// The page daemon's reclaim rate over clean file pages, and a swap round trip (out by the
    /// daemon, back in by a fault) per anonymous page.
    static func pageDaemon(pages: Int) async -> [BenchFigure] {
        var reclaim = 0.0, roundTrip = 0.0
        let sched = Scheduler()
        let k = Kernel(sched: sched, config: MachineConfig(pageCount: pages + 64, swapPages: pages))
        k.createFile(name: "data", size: UInt64(pages) * 4096, fill: 0x41)
        let p = k.createProc(name: "bench", uid: 0, memlockLimit: .max)
        let lwp = p.lwps[0]
        let failure = await sched.run([(lwp.thread, {
            let ps = UInt64(k.pageSize)
            let clock = ContinuousClock()
            let f = try await k.mmap(lwp, .file("data"), length: UInt64(pages) * ps, prot: [.read], maxProt: .all, shared: true, fixed: nil)
            for i in 0..<UInt64(pages) { _ = try await k.load(lwp, f + i * ps) }
            let t0 = clock.now
            let freed = try await k.uvm.pageDaemon(target: nil)
            reclaim = Double(freed) / seconds(clock.now - t0)
            try await k.munmap(lwp, f, UInt64(pages) * ps)
            let a = try await k.mmap(lwp, .anon, length: UInt64(pages) * ps, prot: [.read, .write], maxProt: .all, shared: false, fixed: nil)
            try await k.fill(lwp, a, UInt64(pages) * ps, 9)
            let t1 = clock.now
            let out = try await k.uvm.pageDaemon(target: nil)
            for i in 0..<UInt64(pages) { _ = try await k.load(lwp, a + i * ps) }
            roundTrip = seconds(clock.now - t1) / Double(max(out, 1))
        })])
        precondition(failure == nil, "benchmark failed: \(failure!)")
        return [
            BenchFigure(name: "page daemon reclaim, clean file pages", value: reclaim, unit: "pages/s", target: "-"),
            BenchFigure(name: "swap round trip", value: roundTrip * 1e9, unit: "ns/page", target: "-"),
        ]
    }

    /// Exploration speed: random schedules per second of a fixed small scenario (three threads
    /// racing faults, write(2) and truncation; the audit off), from seed 1.
    static func schedules(runs: Int) async -> BenchFigure {
        let text = """
            file db size=2p fill=0x41
            proc A
            thread T in A
            proc B
            A: f = mmap file=db 2p shared
            B: src = mmap anon 1p
            together
              A: load f+1p => 0x41|SIGBUS
              T: truncate db 1p => ok
              B: write db off=0 from=src len=1p => ok
            end
            """
        guard let scenario = try? ScenarioParser.parse(text, file: "bench.uvm") else { return BenchFigure(name: "schedules", value: 0, unit: "", target: "") }
        var e = ExploreOptions()
        e.strategy = .random
        e.runs = runs
        let r = try? await Explorer.explore(scenario, source: text, base: RunOptions(), e)
        let rate = Double(r?.schedules ?? 0) / max(r?.seconds ?? 1, 1e-9)
        return BenchFigure(name: "exploration (3 threads, random)", value: rate, unit: "schedules/s", target: "≥ 2,000 per core")
    }

    /// fork of a process with `pages` touched anonymous pages.
    static func fork(pages: Int) async -> BenchFigure {
        var t = 0.0
        await withKernel(pageCount: pages + 64) { k, lwp in
            let ps = UInt64(k.pageSize)
            let base = try await k.mmap(lwp, .anon, length: UInt64(pages) * ps, prot: [.read, .write],
                                        maxProt: .all, shared: false, fixed: nil)
            try await k.fill(lwp, base, UInt64(pages) * ps, 7)
            let clock = ContinuousClock()
            let t0 = clock.now
            _ = try await k.fork(lwp, childName: "child")
            t = seconds(clock.now - t0)
        }
        return BenchFigure(name: "fork, \(pages) touched pages", value: t * 1e3, unit: "ms", target: "-")
    }

    /// The host kernel's own costs, for the targets' comparisons: first touch of anonymous
    /// memory, and mlock per page (nil where RLIMIT_MEMLOCK forbids it).
    static func hostFigures(pages: Int) -> [BenchFigure] {
        #if canImport(Glibc)
        let ps = Int(sysconf(Int32(_SC_PAGESIZE)))
        let len = pages * ps
        let clock = ContinuousClock()
        guard let mem = mmap(nil, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              mem != MAP_FAILED else { return [] }
        defer { munmap(mem, len) }
        let bytes = mem.assumingMemoryBound(to: UInt8.self)
        let t0 = clock.now
        for i in 0..<pages { bytes[i * ps] = 1 }
        let touch = seconds(clock.now - t0) / Double(pages)
        var figures = [BenchFigure(name: "host: first-touch fault", value: touch * 1e9, unit: "ns/page", target: "reference")]
        guard let fresh = mmap(nil, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              fresh != MAP_FAILED else { return figures }
        defer { munmap(fresh, len) }
        let t1 = clock.now
        if mlock(fresh, len) == 0 {
            figures.append(BenchFigure(name: "host: mlock, untouched memory", value: seconds(clock.now - t1) / Double(pages) * 1e9,
                                       unit: "ns/page", target: "reference"))
            munlock(fresh, len)
        } else {
            figures.append(BenchFigure(name: "host: mlock (refused: RLIMIT_MEMLOCK)", value: 0, unit: "", target: "reference"))
        }
        return figures
        #else
        return []
        #endif
    }

    /// Resident bytes per physical page of the machine's page array (contents not counted: they
    /// are allocated only when a page is written). Measured from the process's resident set.
    static func metadataPerPage() -> BenchFigure {
        let n = 400_000
        let before = residentBytes()
        let mem = PhysMem(pageCount: n, pageSize: 4096, wiredMax: n)
        let after = residentBytes()
        withExtendedLifetime(mem) {}
        return BenchFigure(name: "metadata per physical page", value: Double(after - before) / Double(n),
                           unit: "bytes", target: "≤ 64 bytes")
    }

    /// The resident set size, from /proc/self/statm (0 where there is no /proc).
    private static func residentBytes() -> Int {
        #if canImport(Glibc)
        let fd = open("/proc/self/statm", O_RDONLY)
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 128)
        let n = read(fd, &buf, buf.count)
        guard n > 0 else { return 0 }
        let fields = String(decoding: buf[..<n], as: UTF8.self).split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
        #else
        return 0
        #endif
    }
}
