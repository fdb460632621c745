// The command's deadline and memory ceiling hold inside one run too: a run that would take
// minutes and gigabytes (a fill of 1G on a machine of a million pages) ends STOPPED near the
// deadline or just past the ceiling, and explore, the shrinker and `uvm run` keep what they had.

import Foundation
import Testing
import UVMRunner
import UVMScenario
import UVMSched

@Suite(.serialized) @Sim struct InRunLimitTests {
    /// One run of this takes more than a minute in a debug build, and its resident set passes a
    /// gigabyte: each of the 262,144 pages faulted in is a page of the host.
    static let endless = """
        machine ram=1000000p swap=1000000p
        proc A
        A: a = mmap anon 1G
        A: fill a 1G 0x11 => ok
        """

    /// FAILs at once (the fill faults on the hole munmap left), but without line 4 the fill
    /// runs through 1G: the candidate the shrinker tries when it drops that line alone.
    static let failsAtOnceButNotWithoutLine4 = """
        machine ram=1000000p swap=1000000p
        proc A
        A: a = mmap anon 1G
        A: munmap a 1G
        A: fill a 1G 0x11 => ok
        """

    static func seconds(since start: ContinuousClock.Instant) -> Double { (ContinuousClock.now - start).seconds }

    /// Wall time through the library shares the simulator's one thread with the tests running
    /// beside these, whose runs can hold it for seconds between two of ours: a bound far below
    /// the minute the run takes unstopped, not near its budget. The executable's tests below
    /// time a process of its own against the budget itself.
    static let sharedThreadBound = 20.0

    @Test func aRunPastItsDeadlineStopsNearIt() async throws {
        var o = RunOptions()
        o.limits = ResourceLimits(seconds: 1, maxResidentMegabytes: nil)
        let start = ContinuousClock.now
        let r = try await run(Self.endless, options: o)
        let took = Self.seconds(since: start)
        #expect(r.outcome == .stopped(.time))
        #expect(r.outcome.exitCode == 3 && !r.outcome.isFailure)
        #expect(r.outcome.summary == "STOPPED: time ran out")
        // Stopped in the middle of the fill: the mmap's line is there, the fill's is not.
        #expect(r.lines.count == 1 && r.lines[0].hasPrefix("3: "), "\(r.lines)")
        #expect(r.steps >= ScenarioRunner.limitCheckInterval && r.steps % ScenarioRunner.limitCheckInterval == 0)
        #expect(took < Self.sharedThreadBound, "a run with a 1 s deadline took \(took) s")
    }

    /// With the audit at every step, each step walks a machine that grows by a page a step: the
    /// limits are looked at every step, not every 4096 (which would take minutes here).
    @Test func anAuditedRunPastItsDeadlineStopsNearIt() async throws {
        var o = RunOptions()
        o.auditEveryStep = true
        o.limits = ResourceLimits(seconds: 1, maxResidentMegabytes: nil)
        let start = ContinuousClock.now
        let r = try await run(Self.endless, options: o)
        let took = Self.seconds(since: start)
        #expect(r.outcome == .stopped(.time))
        #expect(r.steps < ScenarioRunner.limitCheckInterval)
        #expect(took < Self.sharedThreadBound, "an audited run with a 1 s deadline took \(took) s")
    }

    @Test func aRunPastTheMemoryCeilingStopsThere() async throws {
        // A ceiling 64 MB above what the test process holds now; the deadline only keeps a
        // failing test from running for minutes.
        let ceiling = ResidentSet.bytes() + 64 << 20
        var o = RunOptions()
        o.limits = ResourceLimits(deadline: .now + .seconds(60), maxResidentBytes: ceiling)
        let r = try await run(Self.endless, options: o)
        guard case .stopped(.memory(let resident, let reported)) = r.outcome else {
            Issue.record("expected a stop at the memory ceiling, got \(r.outcome.summary)")
            return
        }
        #expect(reported == ceiling && resident > ceiling)
        #expect(r.outcome.summary.hasSuffix("MB past the \(ceiling >> 20) MB ceiling"), "\(r.outcome.summary)")
    }

    @Test func aStoppedRunIsARunDocumentOfItsOwn() async throws {
        var o = RunOptions()
        o.limits = ResourceLimits(deadline: .now, maxResidentBytes: nil)
        let r = try await run(Self.endless, options: o)
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(RunJSON.document(file: "endless.uvm", report: r).utf8)) as? [String: Any])
        #expect(doc["outcome"] as? String == "STOPPED")
        #expect(doc["limit"] as? String == "time ran out")
        #expect(doc["exitCode"] as? Int == 3)
        let schema = try CommandJSONTests().schema("run")
        #expect(schemaProblems(doc, schema, root: schema).isEmpty, "\(schemaProblems(doc, schema, root: schema))")
    }

    @Test func exploreEndsWithTheLimitWhenItsFirstRunIsStopped() async throws {
        let scenario = try ScenarioParser.parse(Self.endless, file: "endless.uvm")
        var e = ExploreOptions()
        e.limits = ResourceLimits(seconds: 1, maxResidentMegabytes: nil)
        let start = ContinuousClock.now
        let result = try await Explorer.explore(scenario, source: Self.endless, base: RunOptions(), e)
        #expect(Self.seconds(since: start) < Self.sharedThreadBound)
        #expect(result.limitReached == .time)
        #expect(result.found == nil && result.schedules == 0)
    }

    @Test func aStoppedCandidateEndsShrinkingWithTheFailureSoFar() async throws {
        let text = Self.failsAtOnceButNotWithoutLine4
        let scenario = try ScenarioParser.parse(text, file: "shrink.uvm")
        var e = ExploreOptions()
        e.limits = ResourceLimits(seconds: 2, maxResidentMegabytes: nil)
        let start = ContinuousClock.now
        let finding = try await Explorer.exploreAndShrink(scenario, source: text, base: RunOptions(), e)
        #expect(Self.seconds(since: start) < Self.sharedThreadBound)
        let shrunk = try #require(finding.shrunk)
        #expect(shrunk.cutShort == .time)
        #expect(shrunk.report.outcome == .fail(line: 5, expected: "ok", got: "SIGSEGV"))
        #expect(finding.traced?.outcome == shrunk.report.outcome)
    }

    /// The executable's own wall time, with the whole command inside `--time`.
    func endlessFile(_ text: String = endless) throws -> URL {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("in-run-limit-\(UInt64.random(in: 0...UInt64.max)).uvm")
        try text.write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    @Test func exploreWithTwoSecondsOfOneEndlessRunReturnsWithinThree() throws {
        let file = try endlessFile()
        defer { try? FileManager.default.removeItem(at: file) }
        let explore = try UVMExecutable.run(["explore", file.path, "--time", "2"])
        #expect(explore.seconds < 3, "explore --time 2 took \(explore.seconds) s")
        #expect(explore.status == 0)
        #expect(explore.output.contains("search stopped: time ran out"), "\(explore.output)")
    }

    @Test func uvmRunSaysWhichLimitStoppedIt() throws {
        let file = try endlessFile()
        defer { try? FileManager.default.removeItem(at: file) }
        for audit in [[], ["--audit"]] {
            let timed = try UVMExecutable.run(["run", file.path, "--time", "1"] + audit)
            #expect(timed.seconds < 3, "run --time 1 \(audit) took \(timed.seconds) s")
            #expect(timed.status == 3)
            #expect(timed.output.contains("STOPPED: time ran out"))
            #expect(!timed.output.contains("replay:"))
        }
        let capped = try UVMExecutable.run(["run", file.path, "--max-memory", "100"])
        #expect(capped.status == 3)
        #expect(capped.output.contains("MB past the 100 MB ceiling"), "\(capped.output)")
        #expect(try UVMExecutable.run(["run", file.path, "--time", "0"]).status == 64)
    }

    @Test func exploreShrinksInsideTwoSecondsThoughACandidateRunIsEndless() throws {
        let file = try endlessFile(Self.failsAtOnceButNotWithoutLine4)
        defer { try? FileManager.default.removeItem(at: file) }
        let explore = try UVMExecutable.run(["explore", file.path, "--time", "2"])
        #expect(explore.seconds < 3, "explore --time 2 took \(explore.seconds) s")
        #expect(explore.status == 1)
        #expect(explore.output.contains("shrinking cut short (time ran out)"), "\(explore.output)")
    }
}
