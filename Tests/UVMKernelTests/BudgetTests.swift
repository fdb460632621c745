// Budgets that hold: `uvm explore --time S` covers search, shrinking and the report, and a cut
// still leaves a failure that replays; shrinking is cheap enough that every catalog entry
// shrinks in seconds to a short trace.

import Foundation
import Testing
import UVMRunner
import UVMScenario
import UVMSched

@Suite(.serialized) @Sim struct BudgetTests {
    /// A generated scenario of three processes and four threads, with fifteen operations racing
    /// in one block, and after it a shared-memory segment locked twice over (SHM_LOCK and mlock)
    /// under the historic shared wire count: the second SHM_UNLOCK underflows a page's wire
    /// count, whatever the schedule. Most of its lines have nothing to do with the failure.
    static let large = """
        machine ram=58p pagesize=16K swap=20p wiredmax=9p
        policy wiring=shared-count
        file f0 size=5p fill=0xcc
        file f1 size=6p badpage=2
        proc Z uid=0 memlock=58p
        proc A uid=0 memlock=1p
        proc B memlock=2p
        thread TB1 in B
        thread TB2 in B
        Z: zscratch = mmap anon 1p
        A: ra1 = mmap anon 3p
        A: fill ra1 3p 0x11
        A: sid1 = shmget size=1p
        A: ra2 = shmat sid1
        A: fill ra2 1p 0x5a
        B: rb1 = mmap anon 1p private
        B: fill rb1 1p 0xcc
        B: sid2 = shmget size=3p
        B: rb2 = shmat sid2
        B: fill rb2 3p 0x80
        A: shmctl sid2 lock
        together
          B: read f0 off=1p to=rb2 len=3p
          B: fill rb1 1p 0xcc
          B: munlock rb1 1p
          B: K1 = fork
          TB1: ptrace A write ra2 0xcc
          TB1: munmap rb1 1p
          TB1: munlock ra2 1p
          A: mincore ra2+100 1p
          A: ptrace B read ra1
          A: mlockall future
          TB2: check rb2+2p 1p 0x22
          TB2: mlockall future
          TB2: msync rb2+2p+1 100
          kernel: pagedaemon pages=1
          kernel: pagedaemon
        end
        Z: w = shmget size=2p
        Z: s = shmat w
        Z: fill s 2p 0x11 => ok
        Z: shmctl w lock => ok
        Z: mlock s 2p => ok
        Z: munlock s 2p => ok
        Z: shmctl w unlock
        Z: shmctl w unlock
        A: check ra1 3p 0x55
        A: check ra2 1p 0x11
        B: check rb1 1p 0xcc
        K1: load rb2+1p
        A: munlockall
        B: munlockall
        K1: munlockall
        Z: shmctl sid1 unlock
        Z: shmctl sid2 unlock
        expect wired = 0p
        """

    func replays(_ token: String, on scenario: Scenario, _ base: RunOptions, as failing: Outcome) async throws -> Bool {
        var o = base
        o.replay = ReplayToken.decode(token)
        let again = try await ScenarioRunner.run(scenario, source: Self.large, options: o)
        return Shrinker.sameFailure(again.outcome, failing)
    }

    @Test func aCutShortShrinkingKeepsTheBestFailureSoFar() async throws {
        let scenario = try ScenarioParser.parse(Self.large, file: "large.uvm")
        var e = ExploreOptions()
        e.strategy = .random
        let found = try #require(try await Explorer.explore(scenario, source: Self.large, base: RunOptions(), e).found)
        // A deadline already past: not one candidate runs, and the failure found is what is left.
        let shrunk = try await Shrinker.shrink(scenario, source: Self.large, base: RunOptions(), failing: found,
                                               limits: ResourceLimits(deadline: ContinuousClock.now))
        #expect(shrunk.cutShort == .time)
        #expect(shrunk.runs == 0)
        #expect(shrunk.report.token == found.token)
        #expect(try await replays(shrunk.report.token, on: shrunk.scenario, RunOptions(), as: found.outcome))
    }

    @Test func withoutALimitTheLargeScenarioShrinksToItsFewLines() async throws {
        let scenario = try ScenarioParser.parse(Self.large, file: "large.uvm")
        var base = RunOptions()
        base.auditEveryStep = true
        var e = ExploreOptions()
        e.strategy = .random
        let found = try #require(try await Explorer.explore(scenario, source: Self.large, base: base, e).found)
        let shrunk = try await Shrinker.shrink(scenario, source: Self.large, base: base, failing: found)
        #expect(shrunk.cutShort == nil)
        #expect(shrunk.depth == 0)
        // What is left is the locking and unlocking of the segment (its fill may go too).
        let left = Set(Self.operationLines(shrunk.scenario))
        #expect(left.isSubset(of: Set(line("Z: w = shmget", in: Self.large)...line("Z: shmctl w unlock", in: Self.large) + 1)))
        #expect(left.count <= 7)
        #expect(try await replays(shrunk.report.token, on: shrunk.scenario, base, as: found.outcome))
    }

    @Test func shrinkingFiguresSayWhatShrinkingCostAndLeft() async throws {
        let scenario = try ScenarioParser.parse(Self.large, file: "large.uvm")
        let figures = try #require(try await Shrinker.figures(scenario, source: Self.large, base: RunOptions()))
        #expect(figures.cutShort == nil)
        #expect(figures.preemptions == 0)
        #expect(figures.linesBefore == Self.operationLines(scenario).count)
        #expect(figures.linesAfter <= 7)
        #expect(figures.seconds > 0 && figures.seconds < 30)
        #expect(figures.peakResidentBytes > 0 && figures.peakResidentBytes < 512 << 20)
        #expect(figures.steps > 0)
    }

    static func operationLines(_ s: Scenario) -> [Int] {
        s.statements.flatMap { st -> [Int] in
            switch st.kind {
            case .operation(let op): [op.location.line]
            case .together(let ops): ops.map(\.location.line)
            case .expect(let e): [e.location.line]
            default: []
            }
        }
    }
}

/// The `uvm` command itself, run as a process of its own (`UVMExecutable`): its wall time and
/// CPU time are its own, not shared with the tests running in parallel on the simulator's actor.
/// One suite, serialized, so that the CPU time of the children is each run's alone.
///
/// Every catalog entry's BUG, found under its historic knobs with the per-step audit, shrinks
/// within 5 s to a schedule of at most 60 steps and at most 3 preemptions; its token replays.
@Suite(.serialized) @Sim struct CommandBudgetTests {
    nonisolated static let catalog = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("scenarios/catalog")

    nonisolated static let files: [String] = ((try? FileManager.default.contentsOfDirectory(atPath: catalog.path)) ?? [])
        .filter { $0.hasSuffix(".uvm") }.sorted()

    /// The large scenario as a file, for the `uvm` executable.
    func largeFile() throws -> URL {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("budget-\(UInt64.random(in: 0...UInt64.max)).uvm")
        try BudgetTests.large.write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    @Test func exploreWithTwoSecondsReturnsWithinThreeWithAReplayableToken() async throws {
        let file = try largeFile()
        defer { try? FileManager.default.removeItem(at: file) }
        let explore = try UVMExecutable.run(["explore", file.path, "--time", "2"])
        #expect(explore.seconds < 3, "explore --time 2 took \(explore.seconds) s")
        #expect(explore.status == 2)
        // Whether the shrinker finished or was cut short, the token printed replays the BUG.
        let token = try #require(UVMExecutable.token(in: explore.output, file: file.path))
        let scenario = try ScenarioParser.parse(BudgetTests.large, file: file.path)
        var o = RunOptions()
        o.replay = ReplayToken.decode(token)
        let again = try await ScenarioRunner.run(scenario, source: BudgetTests.large, options: o)
        #expect(again.outcome.kindName == "panic")
    }

    @Test func pastTheMemoryCeilingExploreSaysSoAndStops() throws {
        let file = try largeFile()
        defer { try? FileManager.default.removeItem(at: file) }
        // No process runs in 1 MB: the search stops before its first run, a PASS over nothing.
        let explore = try UVMExecutable.run(["explore", file.path, "--max-memory", "1"])
        #expect(explore.status == 0)
        #expect(explore.output.contains("search stopped: resident set"))
        #expect(explore.output.contains("past the 1 MB ceiling"))
        #expect(explore.output.contains("PASS over 0 schedule(s)"))
        #expect(try UVMExecutable.run(["explore", file.path, "--max-memory", "0"]).status == 64)
    }

    /// A scenario's length costs linearly: four times the lines, about four times the time (the
    /// square would be sixteen), in CPU time, which a loaded machine does not stretch.
    @Test func scenarioLengthCostsLinearly() throws {
        func cpuSeconds(mappings n: Int) throws -> Double {
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("length-\(n)-\(UInt64.random(in: 0...UInt64.max)).uvm")
            try ("machine ram=64p\nproc A\n" + (0..<n).map { "A: m\($0) = mmap anon 1p\n" }.joined())
                .write(to: file, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: file) }
            let run = try UVMExecutable.run(["run", file.path])
            #expect(run.status == 0)
            return run.cpuSeconds
        }
        let short = try cpuSeconds(mappings: 5_000), long = try cpuSeconds(mappings: 20_000)
        #expect(long < short * 8, "5,000 mmap lines: \(short) s, 20,000: \(long) s")
    }

    @Test func theCatalogIsThere() {
        #expect(Self.files.count >= 13)
    }

    @Test(arguments: files)
    func entryShrinksQuicklyToAShortTrace(file: String) async throws {
        let path = Self.catalog.appendingPathComponent(file).path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let entry = try #require(CatalogEntry.parse(text, file: file))
        guard !entry.bugs.isEmpty else { return }
        let policy = [("modern", "")] + entry.knobs
        let words = policy.flatMap { ["--policy", $0.1.isEmpty ? $0.0 : "\($0.0)=\($0.1)"] }
        let explore = try UVMExecutable.run(["explore", path, "--audit", "--time", "60"] + words)
        #expect(explore.status == 2, "\(entry.id): \(explore.output.prefix(300))")
        let shrinkSeconds = try #require(UVMExecutable.number(after: "shrunk in ", in: explore.output))
        #expect(shrinkSeconds <= 5, "\(entry.id): shrinking took \(shrinkSeconds) s")
        #expect(!explore.output.contains("cut short"))
        let steps = try #require(UVMExecutable.number(after: "steps: ", in: explore.output))
        #expect(steps <= 60, "\(entry.id): \(steps) steps")
        let depth = try #require(UVMExecutable.number(after: "depth: ", in: explore.output))
        #expect(depth <= 3)

        let token = try #require(UVMExecutable.token(in: explore.output, file: path))
        var o = RunOptions()
        o.auditEveryStep = true
        o.policy = policy
        o.replay = ReplayToken.decode(token)
        let again = try await ScenarioRunner.run(try ScenarioParser.parse(text, file: path), source: text, options: o)
        #expect(entry.bugs.contains(again.outcome.kindName), "\(entry.id): replayed as \(again.outcome.summary)")
    }
}

/// The `uvm` executable built beside this test bundle, run as a process of its own: its wall
/// time is its own, not shared with the tests running in parallel on the simulator's actor. Its
/// CPU time is its own too: a shell runs it and reports its child's times (`times`), where this
/// process's RUSAGE_CHILDREN would also count every other test's subprocesses.
enum UVMExecutable {
    static func run(_ arguments: [String]) throws -> (status: Int32, output: String, seconds: Double, cpuSeconds: Double) {
        let uvm = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("uvm")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "\"$0\" \"$@\" 2>/dev/null; status=$?; times >&2; exit $status", uvm.path] + arguments
        let out = Pipe(), times = Pipe()
        process.standardOutput = out
        process.standardError = times
        let clock = ContinuousClock()
        let start = clock.now
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let timesText = String(decoding: times.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let elapsed = (clock.now - start).components
        return (process.terminationStatus, String(decoding: data, as: UTF8.self),
                Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18, childCPUSeconds(times: timesText))
    }

    /// The children's user plus system time from the shell's `times` (its second line,
    /// "0m1.234s 0m0.056s").
    static func childCPUSeconds(times: String) -> Double {
        guard let children = times.split(separator: "\n").last else { return .infinity }
        return children.split(separator: " ").reduce(0) { total, field in
            let parts = field.dropLast().split(separator: "m")
            guard parts.count == 2, let minutes = Double(parts[0]), let seconds = Double(parts[1]) else { return .infinity }
            return total + minutes * 60 + seconds
        }
    }

    /// The token of the printed `replay: uvm replay FILE TOKEN` line.
    static func token(in output: String, file: String) -> String? {
        let prefix = "replay: uvm replay \(file) "
        guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) else { return nil }
        return line.dropFirst(prefix.count).split(separator: " ").first.map(String.init)
    }

    /// The number that follows `marker` at the start of a line ("shrunk in 0.25 s" -> 0.25).
    static func number(after marker: String, in output: String) -> Double? {
        guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix(marker) }) else { return nil }
        return Double(line.dropFirst(marker.count).prefix { $0.isNumber || $0 == "." })
    }
}
