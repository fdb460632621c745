// Shrinking figures for `uvm bench`: what it costs to shrink a failure of a scenario (time, peak
// memory) and how small the result is (preemptions, steps, lines).

import UVMScenario
import UVMSched

public struct ShrinkFigures: Sendable {
    /// Schedules the search ran before the failure.
    public var schedules: Int
    public var seconds: Double
    public var peakResidentBytes: Int
    public var preemptions: Int?
    public var steps: Int
    /// Operations and expectations, before shrinking and after.
    public var linesBefore: Int
    public var linesAfter: Int
    /// The limit that cut shrinking short, if one did.
    public var cutShort: LimitReached?
}

extension Shrinker {
    /// Searches `scenario` for a failure (portfolio, at most `runs` schedules) and shrinks the
    /// first one found within `seconds`; nil when no schedule failed.
    public static func figures(_ scenario: Scenario, source: String, base: RunOptions, runs: Int = 1000,
                               seconds: Double = 30) async throws(ScenarioError) -> ShrinkFigures? {
        var e = ExploreOptions()
        e.runs = runs
        let result = try await Explorer.explore(scenario, source: source, base: base, e)
        guard let found = result.found else { return nil }
        let shrunk = try await shrink(scenario, source: source, base: base, failing: found,
                                      limits: ResourceLimits(seconds: seconds, maxResidentMegabytes: nil),
                                      slowestRun: result.slowestRun)
        return ShrinkFigures(schedules: result.schedules, seconds: shrunk.seconds, peakResidentBytes: shrunk.peakResidentBytes,
                             preemptions: shrunk.depth, steps: shrunk.report.steps,
                             linesBefore: operationLines(of: scenario).count, linesAfter: shrunk.operationsLeft,
                             cutShort: shrunk.cutShort)
    }
}
