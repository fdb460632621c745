// Shrinking: a failure found by exploration is reduced to its fewest preemptions (≤ 3) and
// fewest operations, and the result still replays.

import Testing
import UVMRunner
import UVMScenario
import UVMSched

@Suite @Sim struct ShrinkTests {
    static let racy = """
        machine ram=32p swap=8p
        device tape pattern=0x66
        proc A
        thread T in A
        A: b = mmap anon 1p
        A: store b 0x01 => ok
        A: c = mmap anon 2p
        A: fill c 2p 0x07 => ok
        together
          A: physio tape read b 1p => ok
          T: physio tape read b 1p => ok
          kernel: pagedaemon
        end
        A: check b 1p 0x66 => ok
        """

    @Test func aFoundBugShrinksToFewPreemptionsAndFewerLinesAndReplays() async throws {
        let scenario = try ScenarioParser.parse(Self.racy, file: "t.uvm")
        // Without the per-step audit the DMA itself reports the use-after-free (and runs faster).
        var base = RunOptions()
        base.policy = [("vslock", "entry")]
        var e = ExploreOptions()
        e.runs = 5000
        let found = try await Explorer.explore(scenario, source: Self.racy, base: base, e).found
        let failing = try #require(found)
        #expect(failing.outcome.kindName == "use-after-free")

        let shrunk = try await Shrinker.shrink(scenario, source: Self.racy, base: base, failing: failing, budget: 800)
        let depth = try #require(shrunk.depth)
        #expect(depth <= 3)
        // The unrelated mapping and its fill, and the final check, are not needed.
        #expect(shrunk.droppedLines.contains(7) && shrunk.droppedLines.contains(8))
        #expect(shrunk.report.steps <= failing.steps)

        // Both results replay: the shallow run on the full scenario, and the shrunk scenario.
        var again = base
        again.replay = ReplayToken.decode(shrunk.fullScenarioReport.token)
        let full = try await ScenarioRunner.run(scenario, source: Self.racy, options: again)
        #expect(Shrinker.sameFailure(full.outcome, failing.outcome))
        again.replay = ReplayToken.decode(shrunk.report.token)
        let reduced = try await ScenarioRunner.run(shrunk.scenario, source: Self.racy, options: again)
        #expect(Shrinker.sameFailure(reduced.outcome, failing.outcome))
        #expect(reduced.traceHash == shrunk.report.traceHash)
    }

    /// A FAIL shrinks to a scenario that fails the same way, result included: dropping the
    /// fill would turn "got SIGSEGV" into "got 0x00" on the same line, which is another failure.
    @Test func aShrunkFailKeepsItsResult() async throws {
        let text = """
            machine ram=16p swap=8p
            proc A uid=0
            thread T in A
            A: s = shmget size=2p
            A: x = shmat s
            A: fill x 2p 0x33 => ok
            together
              T: load x => 0x33
              A: shmdt x
            end
            """
        let scenario = try ScenarioParser.parse(text, file: "t.uvm")
        var e = ExploreOptions()
        e.runs = 50
        let failing = try #require(try await Explorer.explore(scenario, source: text, base: RunOptions(), e).found)
        guard case .fail(_, _, let got) = failing.outcome else { Issue.record("\(failing.outcome)"); return }
        #expect(got == "SIGSEGV")
        let shrunk = try await Shrinker.shrink(scenario, source: text, base: RunOptions(), failing: failing, budget: 400)
        guard case .fail(let line, _, let shrunkGot) = shrunk.report.outcome else { Issue.record("\(shrunk.report.outcome)"); return }
        #expect(line == 8 && shrunkGot == "SIGSEGV")
    }

    /// Every schedule of every strategy replays from its token to the same steps and state.
    @Test(arguments: [ExploreStrategy.random, .pct, .dfs])
    func selfCheckFindsEveryScheduleReplaying(strategy: ExploreStrategy) async throws {
        let scenario = try ScenarioParser.parse(Self.racy, file: "t.uvm")
        var e = ExploreOptions()
        e.strategy = strategy
        e.runs = 40
        e.selfCheck = true
        let r = try await Explorer.explore(scenario, source: Self.racy, base: RunOptions(), e)
        #expect(r.divergence == nil)
        #expect(r.found == nil)
        #expect(r.schedules == 40 || r.exhausted)
    }
}

/// An exploration stops once the DFS has run every schedule there is, and only then.
@Suite @Sim struct CompleteExplorationTests {
    func explore(_ text: String, preemptions: Int = 2) async throws -> ExploreResult {
        let scenario = try ScenarioParser.parse(text, file: "t.uvm")
        var e = ExploreOptions()
        e.runs = 300
        e.preemptions = preemptions
        return try await Explorer.explore(scenario, source: text, base: RunOptions(), e)
    }

    @Test func oneThreadHasOneScheduleAndStopsAtOnce() async throws {
        let r = try await explore("proc A\nA: b = mmap anon 2p\nA: fill b 2p 0x11 => ok\n")
        #expect(r.complete && r.exhausted)
        #expect(r.schedules < 10 && r.distinctTraces == 1)
    }

    /// Two threads with a few switch points each: a preemption bound of 0 cuts alternatives, so
    /// the exploration goes on to its run count; a bound high enough for every schedule stops
    /// once all are run, each a distinct trace.
    @Test func theBoundDecidesWhetherTheSpaceIsComplete() async throws {
        let text = """
            proc A
            proc B
            together
              A: mmap anon 1p
              B: mmap anon 1p
            end
            """
        let bounded = try await explore(text, preemptions: 0)
        #expect(bounded.exhausted && !bounded.complete && bounded.schedules == 300)
        let full = try await explore(text, preemptions: 1000)
        #expect(full.complete && full.schedules < 300)
        #expect(full.distinctTraces > 1)
    }
}
