// The fuzzer's shrinking budget holds inside a candidate's runs, not only between candidates.

import Foundation
import Testing
@testable import UVMFuzz
import UVMRunner
import UVMSched

/// W1 (truncation under physio, historic `truncate=free`) after a prefix that makes every run
/// long: a first fill of many pages, a step per page.
private let slowFailingScenario = """
    machine ram=400p
    file db size=2p fill=0x41
    device tape pattern=0x77
    proc A
    thread T in A
    A: big = mmap anon 300p
    A: fill big 300p 0x11
    A: f = mmap file=db 2p shared
    together
      A: physio tape read f 2p
      T: truncate db 0
    end
    A: truncate db 2p
    A: check f 2p 0x00
    """

@Test @Sim func theShrinkingBudgetStopsACandidateMidRun() async throws {
    let trial = Trial(policy: [("truncate", "free")])
    let clock = ContinuousClock()
    let started = clock.now
    let found = await trial.explore(slowFailingScenario, seed: 1, schedules: 40)
    let bug = try #require(found.bug)
    // The search ran the scenario at least once: what one run costs here, under this load.
    let oneRun = (clock.now - started) / max(found.schedules, 1)
    let shrinker = ScriptShrinker(trial: trial, budget: oneRun / 10)
    let shrinkStarted = clock.now
    let shrunk = await shrinker.shrink(slowFailingScenario, failing: bug.report, signature: bug.signature, seed: 1)
    let shrinking = clock.now - shrinkStarted
    // Without the budget inside runs, the first candidate alone would take a whole run.
    #expect(shrinking < oneRun / 2, "shrinking took \(shrinking), one run \(oneRun)")
    guard case .bug = shrunk.report.outcome else {
        Issue.record("the shrinker returned a run that does not fail")
        return
    }
}
