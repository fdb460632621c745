// The fuzzer's shrinking budget holds inside a candidate's runs, not only between candidates:
// candidates run under a deadline (which the runner checks at every audited step, as
// InRunLimitTests shows), the earlier of the campaign's and the budget's.

import Testing
@testable import UVMFuzz
import UVMRunner
import UVMSched

@Test @Sim func candidatesRunUnderTheEarlierOfTheCampaignsDeadlineAndTheBudget() {
    let now = ContinuousClock.now
    let budgetEnd = now + .seconds(30)
    let free = ScriptShrinker(trial: Trial(policy: []), budget: .seconds(30))
    #expect(free.candidateTrial(until: budgetEnd).limits.deadline == budgetEnd)

    var campaign = Trial(policy: [])
    campaign.limits = ResourceLimits(deadline: now + .seconds(5), maxResidentBytes: 512 << 20)
    let bounded = ScriptShrinker(trial: campaign, budget: .seconds(30)).candidateTrial(until: budgetEnd)
    #expect(bounded.limits.deadline == now + .seconds(5))
    #expect(bounded.limits.maxResidentBytes == 512 << 20)

    campaign.limits.deadline = now + .seconds(600)
    #expect(ScriptShrinker(trial: campaign, budget: .seconds(30)).candidateTrial(until: budgetEnd).limits.deadline == budgetEnd)
}

/// A scenario whose audited schedules would take hours (a gigabyte of device memory filled, the
/// audit walking every touched page at every step) is abandoned at its own budget as too
/// costly, rather than stalling the campaign: the campaign's limits are not what stopped it.
@Test @Sim func aScenarioPastItsBudgetIsAbandonedAndTheCampaignGoesOn() async {
    let costly = """
        machine ram=64p
        device d pattern=0x31
        proc A
        A: m = mmap device=d 1G
        A: fill m 1G 0x11
        """
    var trial = Trial(policy: [], scenarioSeconds: 0.5)
    trial.limits = ResourceLimits(seconds: 600, maxResidentMegabytes: nil)
    let clock = ContinuousClock()
    let start = clock.now
    let result = await trial.explore(costly, seed: 1, schedules: 4)
    #expect(result.tooCostly)
    #expect(result.stopped == nil)
    #expect(result.bug == nil)
    // Unbudgeted, its first schedule alone would take hours; a loaded machine stretches 0.5 s.
    #expect(clock.now - start < .seconds(120), "the budget is checked inside the run, at every audited step")
    // A scenario within its budget is explored as before.
    trial.scenarioSeconds = 60
    let cheap = await trial.explore("proc A\nA: m = mmap anon 1p\nA: store m 1\n", seed: 1, schedules: 4)
    #expect(!cheap.tooCostly && cheap.stopped == nil && cheap.schedules == 4)
}
