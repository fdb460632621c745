// `uvm bench`: the performance figures, each beside its target and, where the host kernel does
// the same work, beside the host's figure measured in the same run.
//
// Times are the process's CPU time (user and system, children included), not the wall clock: on
// a shared machine a figure then measures the work, not the neighbours.

#if canImport(Glibc)
import Glibc
#endif
import Foundation
import UVMCore
import UVMKernel
import UVMMachine
import UVMScenario
import UVMSched

public struct BenchFigure: Sendable {
    public let name: String
    /// Our figure, in `unit`.
    public let value: Double
    public let unit: String
    public let target: String
    /// The host kernel's figure for the same work, in `unit`, where it has one.
    public var host: Double? = nil
    /// Whether the target is met (nil where there is no target).
    public var met: Bool? = nil
}

@Sim
public enum Bench {
    /// The groups `--only` accepts, in the order a full run measures them.
    /// Shrinking second: its peak resident set is the process's, which the fork group's 64 Ki
    /// pages would otherwise fill first.
    nonisolated public static let groups = ["machine", "shrinking", "faults", "maps", "fork", "schedules", "wiring"]

    /// Runs every benchmark, or one group; `scale` shrinks the work for a quick check (1 = full
    /// size). However large the scale, each benchmark keeps a few pages and runs, so every figure
    /// is a rate of something measured, never a division by zero.
    /// `executable` is this program, run under callgrind to count a zero-fill fault's
    /// instructions (nil: not counted).
    public static func run(scale: Int = 1, only: String? = nil, executable: String? = nil) async -> [BenchFigure] {
        func scaled(_ n: Int) -> Int { max(4, n / max(scale, 1)) }
        var out: [BenchFigure] = []
        // The machine group first, while the heap is fresh: it measures new resident memory.
        for group in groups where only == nil || only == group {
            switch group {
            case "machine": out += await machine(touched: scaled(200_000))
            case "faults": out += await faults(pages: scaled(65_536)) + [zeroFillInstructions(executable: executable)]
            case "maps": out += await maps(entries: scaled(60_000), pairs: scaled(20_000))
            case "fork": out += await fork(pages: scaled(65_536))
            case "schedules": out += await schedules(runs: scaled(4000))
            case "shrinking": out += await shrinking(catalog: "scenarios/catalog")
            default: out += await wiring(pages: scaled(16_384)) + pageDaemon(pages: scaled(16_384))
            }
        }
        return out
    }

    /// What shrinking costs: each catalog entry (read from `catalog`, relative to the current
    /// directory; none when run elsewhere) found under its historic knobs and shrunk, within the
    /// issue's bounds of 5 s and 60 steps.
    static func shrinking(catalog: String) async -> [BenchFigure] {
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: catalog)) ?? []).filter { $0.hasSuffix(".uvm") }.sorted()
        var out: [BenchFigure] = []
        for file in files {
            guard let text = try? String(contentsOfFile: catalog + "/" + file, encoding: .utf8),
                  let entry = CatalogEntry.parse(text, file: file), !entry.knobs.isEmpty,
                  let scenario = try? ScenarioParser.parse(text, file: file) else { continue }
            var base = RunOptions()
            base.policy = entry.knobs
            guard let f = try? await Shrinker.figures(scenario, source: text, base: base, runs: 10_000, seconds: 30) else { continue }
            out.append(atMost("shrink \(entry.id): time", f.seconds, "s", 5, "≤ 5 s"))
            out.append(atMost("shrink \(entry.id): steps left", Double(f.steps), "steps", 60, "≤ 60"))
            out.append(BenchFigure(name: "shrink \(entry.id): peak resident", value: Double(f.peakResidentBytes) / 1_048_576,
                                   unit: "MiB", target: "-"))
        }
        return out
    }

    /// A figure against an upper bound.
    private static func atMost(_ name: String, _ value: Double, _ unit: String, _ bound: Double, _ target: String,
                               host: Double? = nil) -> BenchFigure {
        BenchFigure(name: name, value: value, unit: unit, target: target, host: host, met: value <= bound)
    }

    /// A figure against a lower bound.
    private static func atLeast(_ name: String, _ value: Double, _ unit: String, _ bound: Double, _ target: String) -> BenchFigure {
        BenchFigure(name: name, value: value, unit: unit, target: target, met: value >= bound)
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

    /// CPU seconds `body` takes.
    private static func cpuTime(_ body: () async throws -> Void) async rethrows -> Double {
        let t0 = cpuSeconds()
        try await body()
        return cpuSeconds() - t0
    }

    // MARK: Cost follows use

    /// A 16 GiB machine's start (the whole run of a small scenario on it): CPU time and new
    /// resident memory, which is also the metadata per physical page; then the metadata of
    /// `touched` pages, each allocated and mapped once.
    static func machine(touched: Int) async -> [BenchFigure] {
        let text = """
            machine ram=16G swap=16G
            proc A
            A: a = mmap anon 4p
            A: fill a 4p 0x11 => ok
            A: check a 4p 0x11 => ok
            """
        let pages = 16 << 18
        var bigRun = 0.0
        let peak0 = peakResidentBytes()
        if let scenario = try? ScenarioParser.parse(text, file: "bench.uvm") {
            bigRun = await cpuTime { _ = try? await ScenarioRunner.run(scenario, source: text, options: RunOptions()) }
        }
        let bigResident = Double(peakResidentBytes() - peak0)

        // A touched page: its record (with room for one mapping) made at the high-water mark;
        // then its entry in a pmap, which belongs to the mapping, not the page.
        let before = ResidentSet.bytes()
        let mem = PhysMem(pageCount: touched, pageSize: 4096, wiredMax: touched)
        for _ in 0..<touched { _ = mem.alloc(owner: nil) }
        let allocated = ResidentSet.bytes()
        let pmap = Pmap(pageShift: 12)
        for (vpn, pg) in mem.pages.enumerated() { pmap.enter(vpn: UInt64(vpn), page: pg, prot: .read) }
        let mapped = ResidentSet.bytes()
        withExtendedLifetime((mem, pmap)) {}
        let n = Double(touched)
        return [
            atMost("ram=16G machine: start and run", bigRun * 1e3, "ms", 10, "≤ 10 ms"),
            atMost("ram=16G machine: new resident memory", bigResident / Double(1 << 20), "MiB", 64, "≤ 64 MiB"),
            atMost("metadata per physical page", bigResident / Double(pages), "bytes", 48, "≤ 48 bytes"),
            atMost("metadata per touched page", Double(allocated - before) / n, "bytes", 128, "≤ 128 bytes"),
            BenchFigure(name: "pmap entry per mapped page", value: Double(mapped - allocated) / n, unit: "bytes", target: "-"),
        ]
    }

    // MARK: Faults

    /// Zero-fill faults (first touch of anonymous memory, by a load: the page's contents stay
    /// lazily zero), re-faults of resident anon pages after the pmap was thrown away, and write
    /// faults; beside the host's first-touch write fault of as many pages.
    static func faults(pages: Int) async -> [BenchFigure] {
        var zeroFill = 0.0, refault = 0.0, writeFault = 0.0
        let host = hostFirstTouch(pages: pages)
        await withKernel(pageCount: pages + 64) { k, lwp in
            let ps = UInt64(k.pageSize)
            let base = try await k.mmap(lwp, .anon, length: UInt64(pages) * ps, prot: [.read, .write],
                                        maxProt: .all, shared: false, fixed: nil)
            zeroFill = try await cpuTime { try await zeroFillFaults(k, lwp, base: base, pages: pages) }
            lwp.proc!.map.pmap.removeAll()
            refault = try await cpuTime { for i in 0..<UInt64(pages) { _ = try await k.load(lwp, base + i * ps) } }
            lwp.proc!.map.pmap.removeAll()
            writeFault = try await cpuTime { for i in 0..<UInt64(pages) { try await k.store(lwp, base + i * ps, 1) } }
        }
        let n = Double(pages)
        return [
            atMost("zero-fill fault", zeroFill / n * 1e9, "ns/fault", 0.2 * host * 1e9, "≤ 0.2 × host first-touch write", host: host * 1e9),
            BenchFigure(name: "resident re-fault", value: refault / n * 1e9, unit: "ns/fault", target: "-"),
            atMost("write fault, first store to page", writeFault / n * 1e9, "ns/fault", 0.5 * host * 1e9, "≤ 0.5 × host first-touch write",
                   host: host * 1e9),
        ]
    }

    /// A zero-fill fault of each of `pages` pages from `base` on.
    private static func zeroFillFaults(_ k: Kernel, _ lwp: LWP, base: UInt64, pages: Int) async throws {
        let ps = UInt64(k.pageSize)
        for i in 0..<UInt64(pages) { _ = try await k.load(lwp, base + i * ps) }
    }

    /// `count` zero-fill faults of a fresh kernel and nothing else: what the bench runs under
    /// callgrind.
    public static func zeroFillOnly(faults count: Int) async {
        await withKernel(pageCount: count + 64) { k, lwp in
            let base = try await k.mmap(lwp, .anon, length: UInt64(count) * UInt64(k.pageSize), prot: [.read, .write],
                                        maxProt: .all, shared: false, fixed: nil)
            try await zeroFillFaults(k, lwp, base: base, pages: count)
        }
    }

    /// Instructions per zero-fill fault: callgrind's count of `executable` making 6,000 faults
    /// less its count making 2,000, over the 4,000 between, so that start-up and the kernel's
    /// setup cancel out. Exact from run to run, unlike a time. Not measured where valgrind is not
    /// installed (or `executable` is nil).
    static func zeroFillInstructions(executable: String?) -> BenchFigure {
        let name = "zero-fill fault, instructions (callgrind)", target = "≤ 2,000"
        guard let executable, let a = callgrindInstructions(executable, ["bench", "--zero-fill-faults", "2000"]),
              let b = callgrindInstructions(executable, ["bench", "--zero-fill-faults", "6000"]) else {
            return BenchFigure(name: name, value: .nan, unit: "instructions/fault (valgrind not found)", target: target)
        }
        return atMost(name, (b - a) / 4000, "instructions/fault", 2000, target)
    }

    /// The instructions callgrind counts in a run of `executable` with `arguments`, or nil when
    /// valgrind cannot be run.
    nonisolated public static func callgrindInstructions(_ executable: String, _ arguments: [String]) -> Double? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", executable] + arguments
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return nil }
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        guard p.terminationStatus == 0,
              let line = text.split(separator: "\n").first(where: { $0.contains("Collected :") }),
              let count = line.split(separator: ":").last?.trimmingCharacters(in: .whitespaces) else { return nil }
        return Double(count.filter(\.isNumber))
    }

    /// The host's first-touch write fault of anonymous memory, per page (0 where there is no
    /// host to ask).
    static func hostFirstTouch(pages: Int) -> Double {
        withHostMemory(pages: pages) { mem, pageSize, _ in
            let bytes = mem.assumingMemoryBound(to: UInt8.self)
            let t0 = cpuSeconds()
            for i in 0..<pages { bytes[i * pageSize] = 1 }
            return (cpuSeconds() - t0) / Double(pages)
        } ?? 0
    }

    /// Runs `body` on `pages` fresh pages of the host's anonymous memory (its address, the host's
    /// page size and the length), unmapped afterwards; nil where there is no host memory to map.
    private static func withHostMemory<T>(pages: Int, _ body: (UnsafeMutableRawPointer, Int, Int) -> T?) -> T? {
        #if canImport(Glibc)
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        let len = pages * pageSize
        guard let mem = mmap(nil, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              mem != MAP_FAILED else { return nil }
        defer { munmap(mem, len) }
        return body(mem, pageSize, len)
        #else
        return nil
        #endif
    }

    // MARK: Map operations

    /// mmap + munmap of one page in a map of 10 entries and in one of `entries` entries.
    static func maps(entries: Int, pairs: Int) async -> [BenchFigure] {
        let small = await mapChurn(entries: 10, pairs: pairs), large = await mapChurn(entries: entries, pairs: pairs)
        return [
            BenchFigure(name: "mmap+munmap, 10 entries", value: small * 1e9, unit: "ns/pair", target: "-"),
            atMost("mmap+munmap, \(entries) entries", large * 1e9, "ns/pair", 1.15 * small * 1e9, "≤ 1.15 × 10 entries"),
        ]
    }

    /// Seconds per mmap + munmap of one page in a map that already has `entries` entries.
    static func mapChurn(entries: Int, pairs: Int) async -> Double {
        var perPair = 0.0
        await withKernel(pageCount: 64) { k, lwp in
            let ps = UInt64(k.pageSize)
            // Entries with holes between them, so that none merges.
            for i in 0..<UInt64(entries) {
                _ = try await k.mmap(lwp, .anon, length: ps, prot: [.read], maxProt: .all, shared: false,
                                     fixed: mmapBase + i * 2 * ps)
            }
            perPair = try await cpuTime {
                for _ in 0..<pairs {
                    let a = try await k.mmap(lwp, .anon, length: ps, prot: [.read, .write], maxProt: .all, shared: false, fixed: nil)
                    try await k.munmap(lwp, a, ps)
                }
            } / Double(pairs)
        }
        return perPair
    }

    // MARK: Fork

    /// fork of a process with `pages` touched anonymous pages, then the child's exit and the
    /// parent's wait; beside the host's fork, _exit and waitpid with as much touched memory.
    static func fork(pages: Int) async -> [BenchFigure] {
        var t = 0.0
        await withKernel(pageCount: 2 * pages + 64) { k, lwp in
            let ps = UInt64(k.pageSize)
            let base = try await k.mmap(lwp, .anon, length: UInt64(pages) * ps, prot: [.read, .write],
                                        maxProt: .all, shared: false, fixed: nil)
            try await k.fill(lwp, base, UInt64(pages) * ps, 7)
            t = try await cpuTime {
                let child = try await k.fork(lwp, childName: "child")
                try await k.exit(child.lwps[0])
            }
        }
        let host = hostFork(pages: pages)
        return [atMost("fork, exit and wait, \(pages) touched pages", t * 1e3, "ms", 0.25 * host * 1e3, "≤ 0.25 × host", host: host * 1e3)]
    }

    /// The host's fork, child _exit and waitpid of a process with `pages` touched pages.
    static func hostFork(pages: Int) -> Double {
        withHostMemory(pages: pages) { mem, _, len in
            #if canImport(Glibc)
            memset(mem, 7, len)
            let t0 = cpuSeconds()
            let pid = Glibc.fork()
            if pid == 0 { _exit(0) }
            var status: Int32 = 0
            if pid > 0 { waitpid(pid, &status, 0) }
            return cpuSeconds() - t0
            #else
            return nil
            #endif
        } ?? 0
    }

    // MARK: Exploration

    /// Three threads racing faults, write(2) and truncation on `ram` (a machine line).
    private static func raceScenario(ram: String) -> String {
        """
        machine ram=\(ram)
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
    }

    /// Four threads in two processes, eight operations each: fills, loads, file faults and
    /// wirings of their own memory, all interleaved.
    private static let fourThreads: String = {
        var lines = ["machine ram=64p", "file db size=4p fill=0x41", "proc A", "thread T in A", "proc B", "thread U in B",
                     "A: f = mmap file=db 4p shared prot=r", "B: g = mmap file=db 4p shared prot=r"]
        let threads: [(thread: String, proc: String, region: String, file: String, byte: String)] = [
            ("A", "A", "a", "f", "0x11"), ("T", "A", "t", "f", "0x22"), ("B", "B", "b", "g", "0x33"), ("U", "B", "u", "g", "0x44")]
        for t in threads { lines.append("\(t.proc): \(t.region) = mmap anon 2p") }
        lines.append("together")
        for t in threads {
            let (r, f, byte) = (t.region, t.file, t.byte)
            lines += ["fill \(r) 1p \(byte) => ok", "load \(r) => \(byte)", "load \(f)+1p => 0x41", "mlock \(r) 2p => ok",
                      "store \(r)+1p \(byte) => ok", "munlock \(r) 2p => ok", "check \(r) 1p \(byte) => ok",
                      "load \(f)+3p => 0x41"].map { "  \(t.thread): \($0)" }
        }
        lines.append("end")
        return lines.joined(separator: "\n")
    }()

    /// The catalog's W4 (three threads: two physio transfers and the page daemon), from the
    /// source tree this program was built from.
    private static let catalogW4: String? = {
        let root = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false).dropLast(3).joined(separator: "/")
        return try? String(contentsOfFile: root + "/scenarios/catalog/W04-vsunlock-under-other-thread.uvm", encoding: .utf8)
    }()

    /// Random schedules of `text`, from seed 1: CPU seconds per schedule and per scheduling step
    /// (nil if the scenario does not parse or a run does not pass).
    private static func explore(_ text: String?, runs: Int, audit: Bool = false) async -> (perRun: Double, perStep: Double)? {
        guard let text, let scenario = try? ScenarioParser.parse(text, file: "bench.uvm") else { return nil }
        var steps = 0
        var passed = true
        var o = RunOptions()
        o.auditEveryStep = audit
        let t = await cpuTime {
            for seed in 1...UInt64(runs) {
                o.seed = seed
                guard let r = try? await ScenarioRunner.run(scenario, source: text, options: o), r.outcome == .pass else {
                    passed = false
                    return
                }
                steps += r.steps
            }
        }
        return passed ? (t / Double(runs), t / Double(max(steps, 1))) : nil
    }

    /// Exploration speed (random schedules, the audit off unless said), with the cost of the
    /// per-step audit and of a large machine.
    static func schedules(runs: Int) async -> [BenchFigure] {
        func rate(_ r: (perRun: Double, perStep: Double)?) -> Double { r.map { 1 / $0.perRun } ?? 0 }
        let w4 = await explore(catalogW4, runs: runs)
        let w4Audited = await explore(catalogW4, runs: runs, audit: true)
        let four = await explore(fourThreads, runs: runs / 2)
        let small = await explore(raceScenario(ram: "64p"), runs: runs)
        let large = await explore(raceScenario(ram: "1G"), runs: runs)
        let auditCost = (w4Audited?.perRun ?? .infinity) / (w4?.perRun ?? 1)
        let sizeRatio = rate(large) / max(rate(small), 1e-9)
        return [
            atLeast("exploration, catalog W4 (3 threads)", rate(w4), "schedules/s", 25_000, "≥ 25,000 per core"),
            atLeast("exploration, 4 threads × 8 operations", rate(four), "schedules/s", 10_000, "≥ 10,000 per core"),
            atMost("per scheduled step, W4", (w4?.perStep ?? .infinity) * 1e6, "µs", 0.3, "≤ 0.3 µs"),
            atMost("per-step audit, W4", auditCost, "× without", 2, "≤ 2 ×"),
            atLeast("1 GiB machine / 64-page machine", sizeRatio, "× the schedules/s", 2.0 / 3, "≥ 0.67 ×"),
        ]
    }

    // MARK: Wiring and the page daemon

    /// mlock and munlock per page, of untouched and of touched anonymous memory, and SHM_LOCK
    /// per page of a segment; mlock beside the host's.
    static func wiring(pages: Int) async -> [BenchFigure] {
        var figures: [BenchFigure] = []
        let host = hostMlock(pages: pages)
        await withKernel(pageCount: pages * 2 + 64) { k, lwp in
            let ps = UInt64(k.pageSize)
            let len = UInt64(pages) * ps
            for touched in [false, true] {
                let base = try await k.mmap(lwp, .anon, length: len, prot: [.read, .write], maxProt: .all, shared: false, fixed: nil)
                if touched { try await k.fill(lwp, base, len, 3) }
                let lock = try await cpuTime { try await k.mlock(lwp, base, len) }
                let unlock = try await cpuTime { try await k.munlock(lwp, base, len) }
                try await k.munmap(lwp, base, len)
                let what = touched ? "touched" : "untouched"
                let perPage = lock / Double(pages) * 1e9
                figures.append(host.map { atMost("mlock, \(what) memory", perPage, "ns/page", $0 / 4 * 1e9, "≤ 0.25 × host", host: $0 * 1e9) }
                               ?? BenchFigure(name: "mlock, \(what) memory", value: perPage, unit: "ns/page", target: "host refused mlock"))
                figures.append(BenchFigure(name: "munlock, \(what) memory", value: unlock / Double(pages) * 1e9, unit: "ns/page", target: "-"))
            }
            let id = try await k.shmget(lwp, size: len)
            let shmLock = try await cpuTime { try await k.shmctl(lwp, id: id, .lock) }
            figures.append(BenchFigure(name: "SHM_LOCK", value: shmLock / Double(pages) * 1e9, unit: "ns/page", target: "-"))
            try await k.shmctl(lwp, id: id, .unlock)
            try await k.shmctl(lwp, id: id, .remove)
        }
        return figures
    }

    /// The host's mlock per page of untouched memory (nil where RLIMIT_MEMLOCK forbids it).
    static func hostMlock(pages: Int) -> Double? {
        withHostMemory(pages: pages) { mem, _, len in
            #if canImport(Glibc)
            let t0 = cpuSeconds()
            guard mlock(mem, len) == 0 else { return nil }
            let t = cpuSeconds() - t0
            munlock(mem, len)
            return t / Double(pages)
            #else
            return nil
            #endif
        }
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
            let f = try await k.mmap(lwp, .file("data"), length: UInt64(pages) * ps, prot: [.read], maxProt: .all, shared: true, fixed: nil)
            for i in 0..<UInt64(pages) { _ = try await k.load(lwp, f + i * ps) }
            var freed = 0
            let t = try await cpuTime { freed = try await k.uvm.pageDaemon(target: nil) }
            reclaim = Double(freed) / max(t, 1e-9)
            try await k.munmap(lwp, f, UInt64(pages) * ps)
            let a = try await k.mmap(lwp, .anon, length: UInt64(pages) * ps, prot: [.read, .write], maxProt: .all, shared: false, fixed: nil)
            try await k.fill(lwp, a, UInt64(pages) * ps, 9)
            var out = 0
            let t1 = try await cpuTime {
                out = try await k.uvm.pageDaemon(target: nil)
                for i in 0..<UInt64(pages) { _ = try await k.load(lwp, a + i * ps) }
            }
            roundTrip = t1 / Double(max(out, 1))
        })])
        precondition(failure == nil, "benchmark failed: \(failure!)")
        return [
            BenchFigure(name: "page daemon reclaim, clean file pages", value: reclaim, unit: "pages/s", target: "-"),
            BenchFigure(name: "swap round trip", value: roundTrip * 1e9, unit: "ns/page", target: "-"),
        ]
    }

    // MARK: Clocks and memory

    /// The process's CPU time so far, its waited-for children's included.
    private static func cpuSeconds() -> Double {
        #if canImport(Glibc)
        func seconds(_ who: __rusage_who) -> Double {
            var u = rusage()
            getrusage(__rusage_who_t(who.rawValue), &u)
            return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6
        }
        return seconds(RUSAGE_SELF) + seconds(RUSAGE_CHILDREN)
        #else
        return Double(clock()) / Double(CLOCKS_PER_SEC)
        #endif
    }

    /// The process's peak resident set so far (0 where the host does not say).
    private static func peakResidentBytes() -> Int {
        #if canImport(Glibc)
        var u = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &u)
        return u.ru_maxrss * 1024
        #else
        return 0
        #endif
    }
}
