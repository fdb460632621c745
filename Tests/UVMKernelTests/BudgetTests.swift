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

    @Test func exploreWithTwoSecondsReturnsWithinThreeWithAReplayableToken() async throws {
        let scenario = try ScenarioParser.parse(Self.large, file: "large.uvm")
        let base = RunOptions()
        var e = ExploreOptions()
        e.seconds = 2
        e.limits = ResourceLimits(seconds: 2, maxResidentMegabytes: 512)
        let clock = ContinuousClock()
        let start = clock.now
        let finding = try await Explorer.exploreAndShrink(scenario, source: Self.large, base: base, e)
        let elapsed = clock.now - start
        #expect(elapsed < .seconds(3), "explore --time 2 took \(elapsed)")
        let shrunk = try #require(finding.shrunk)
        let traced = try #require(finding.traced)
        #expect(traced.outcome.kindName == "panic")
        #expect(try await replays(shrunk.fullScenarioReport.token, on: scenario, base, as: traced.outcome))
        #expect(try await replays(traced.token, on: shrunk.scenario, base, as: traced.outcome))
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

/// Every catalog entry's BUG, once found under its historic knobs, shrinks within 5 s to a
/// schedule of at most 60 steps and at most 3 preemptions.
@Suite(.serialized) @Sim struct CatalogShrinkTests {
    nonisolated static let catalog = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("scenarios/catalog")

    nonisolated static let files: [String] = ((try? FileManager.default.contentsOfDirectory(atPath: catalog.path)) ?? [])
        .filter { $0.hasSuffix(".uvm") }.sorted()

    @Test func theCatalogIsThere() {
        #expect(Self.files.count >= 13)
    }

    @Test(arguments: files)
    func entryShrinksQuicklyToAShortTrace(file: String) async throws {
        let text = try String(contentsOf: Self.catalog.appendingPathComponent(file), encoding: .utf8)
        let entry = try #require(CatalogEntry.parse(text, file: file))
        guard !entry.bugs.isEmpty else { return }
        let scenario = try ScenarioParser.parse(text, file: file)
        var base = RunOptions()
        base.auditEveryStep = true
        base.policy = [("modern", "")] + entry.knobs
        var e = ExploreOptions()
        e.runs = 10_000
        e.seconds = 60
        let wanted = Set(entry.bugs)
        e.stopsAt = { outcome in
            if case .bug(let f) = outcome { return wanted.contains(f.kind.rawValue) }
            return false
        }
        let found = try #require(try await Explorer.explore(scenario, source: text, base: base, e).found)
        let clock = ContinuousClock()
        let start = clock.now
        let shrunk = try await Shrinker.shrink(scenario, source: text, base: base, failing: found,
                                               limits: ResourceLimits(seconds: 5, maxResidentMegabytes: nil))
        let elapsed = clock.now - start
        #expect(shrunk.cutShort == nil, "\(entry.id): shrinking took more than 5 s")
        #expect(elapsed <= .seconds(5), "\(entry.id): \(elapsed)")
        #expect(shrunk.report.steps <= 60, "\(entry.id): \(shrunk.report.steps) steps")
        #expect((shrunk.depth ?? 99) <= 3)
        var o = base
        o.replay = ReplayToken.decode(shrunk.report.token)
        let again = try await ScenarioRunner.run(shrunk.scenario, source: text, options: o)
        #expect(Shrinker.sameFailure(again.outcome, found.outcome))
    }
}
