// The per-step audit of a DFS schedule starts at the decision where the schedule leaves the last
// one: the steps before it replay exactly and reach states that run's audit already saw. This
// checks that such runs find everything the full audit finds, schedule by schedule, on the
// catalog under its historic knobs (where the audit finds the bugs) and under modern; and that
// the audit reports the same failure whatever order its dictionaries yield their keys in.

import Foundation
import Testing
import UVMRunner
import UVMScenario
import UVMSched

@Suite @Sim struct AuditedPrefixTests {
    static let catalog: [(file: String, text: String, knobs: [(knob: String, value: String)])] = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scenarios/catalog")
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []).filter { $0.hasSuffix(".uvm") }.sorted()
        return files.compactMap { file in
            guard let text = try? String(contentsOf: root.appendingPathComponent(file), encoding: .utf8),
                  let entry = CatalogEntry.parse(text, file: file) else { return nil }
            return (file, text, entry.knobs)
        }
    }()

    /// DFS over `text` for at most `runs` schedules, each run twice: audited at every step, and
    /// audited only from the decision where it leaves the schedule before. Returns the steps each
    /// way audited; expects the same outcome and lines from both, schedule by schedule.
    func compare(_ file: String, _ text: String, policy: [(knob: String, value: String)], runs: Int) async throws -> (full: Int, skipping: Int) {
        let scenario = try ScenarioParser.parse(text, file: file)
        var prefix: [Int]? = []
        var audited = (full: 0, skipping: 0)
        var n = 0
        while let p = prefix, n < runs {
            n += 1
            var o = RunOptions()
            o.policy = policy
            o.auditEveryStep = true
            let fullLog = DFSStrategy.Log(), skippingLog = DFSStrategy.Log()
            o.dfs = (p, fullLog)
            let full = try await ScenarioRunner.run(scenario, source: text, options: o)
            o.dfs = (p, skippingLog)
            o.auditFromDecision = max(p.count - 1, 0)
            let skipping = try await ScenarioRunner.run(scenario, source: text, options: o)
            #expect(full.outcome == skipping.outcome && full.lines == skipping.lines && full.steps == skipping.steps,
                    "\(file) schedule \(n): \(full.outcome.summary) / \(skipping.outcome.summary)")
            audited.full += full.auditedSteps
            audited.skipping += skipping.auditedSteps
            if full.outcome.isFailure { break }
            prefix = DFSStrategy.nextPrefix(after: fullLog.decisions, maxPreemptions: 2)
        }
        return audited
    }

    @Test func skippingTheAuditedPrefixFindsWhatTheFullAuditFinds() async throws {
        #expect(Self.catalog.count >= 13)
        var audited = (full: 0, skipping: 0)
        for entry in Self.catalog {
            for policy in [entry.knobs, []] {
                let a = try await compare(entry.file, entry.text, policy: policy, runs: 40)
                audited.full += a.full
                audited.skipping += a.skipping
            }
        }
        // And it saves something: DFS schedules share most of their steps.
        #expect(audited.skipping * 2 < audited.full, "\(audited)")
    }

    @Test func stepsBeforeTheDecisionAreNotAuditedAndTheRunIsTheSame() async throws {
        // What the option promises: a step before `auditFromDecision` is not audited (a caller
        // must skip only what an audited run already saw), and the run itself does not change.
        guard let w = Self.catalog.first(where: { !$0.knobs.isEmpty }) else { Issue.record("no catalog"); return }
        let scenario = try ScenarioParser.parse(w.text, file: w.file)
        var o = RunOptions()
        o.auditEveryStep = true
        let all = try await ScenarioRunner.run(scenario, source: w.text, options: o)
        o.auditFromDecision = Int.max
        let none = try await ScenarioRunner.run(scenario, source: w.text, options: o)
        #expect(all.auditedSteps > 0 && none.auditedSteps == 0)
        #expect(all.steps == none.steps && all.outcome == none.outcome)
    }

    /// Two pages of a locked segment are pageable: the audit reports the same one each time the
    /// schedule replays, though its dictionaries yield them in a different order in each run.
    @Test func aReplayReportsTheSameInvariant() async throws {
        let w6 = try #require(Self.catalog.first { $0.file.hasPrefix("W06") })
        let scenario = try ScenarioParser.parse(w6.text, file: w6.file)
        var o = RunOptions()
        o.policy = w6.knobs
        o.auditEveryStep = true
        var outcomes: [Outcome] = []
        for _ in 0..<6 { outcomes.append(try await ScenarioRunner.run(scenario, source: w6.text, options: o).outcome) }
        #expect(outcomes.first?.kindName == "invariant")
        #expect(outcomes.allSatisfy { $0 == outcomes[0] }, "\(outcomes.map(\.summary))")
    }
}
