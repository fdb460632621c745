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
