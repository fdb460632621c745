// Exploring schedules: many runs of one scenario under different schedules, until one fails.
//
// Strategies: `random` (uniform at every switch point), `pct` (priorities with d−1 change
// points), and the default `portfolio`, which alternates them. Every run is seeded, so a result
// is reproduced by its replay token.

import UVMScenario
import UVMSched

public enum ExploreStrategy: String, Sendable, CaseIterable {
    case portfolio, random, pct, dfs
}

public struct ExploreOptions: Sendable {
    public var strategy = ExploreStrategy.portfolio
    public var runs = 1000
    public var seconds: Double?
    public var firstSeed: UInt64 = 1
    /// PCT's depth d (bugs that need d−1 ordering constraints).
    public var depth = 3
    /// DFS's preemption bound (CHESS).
    public var preemptions = 2
    /// Run every schedule a second time from its replay token and compare the two runs step
    /// for step (trace hash, outputs, outcome).
    public var selfCheck = false
    /// This process explores shard `index` of `count`: every count-th seed (DFS only in shard 0).
    public var shard = (index: 0, count: 1)
    /// Called about once a second: schedules so far, seconds, distinct traces.
    public var progress: (@Sendable (Int, Double, Int) -> Void)?
    /// The command's whole deadline and memory ceiling (`seconds` bounds this exploration alone).
    public var limits = ResourceLimits.none
    /// Which outcomes stop the exploration (by default, a FAIL or a BUG); a run the limits
    /// stopped ends it too, as `limitReached`.
    public var stopsAt: @Sendable (Outcome) -> Bool = { $0.isFailure }

    public init() {}
}

public struct ExploreResult: Sendable {
    /// The run that stopped the exploration, if any.
    public var found: RunReport?
    public var schedules: Int
    public var seconds: Double
    /// Failures seen that did not stop the exploration, by kind.
    public var otherFailures: [String: Int]
    /// Scheduling decisions of a file-order run: PCT's k.
    public var decisionsPerRun: Int
    /// Threads in the scenario: PCT's n.
    public var threads: Int
    /// DFS only: whether every schedule within the preemption bound was run.
    public var exhausted = false
    /// Exhausted without the preemption bound cutting anything: every schedule there is was
    /// run, so the exploration stopped there.
    public var complete = false
    /// Distinct schedules seen (by trace hash).
    public var distinctTraces = 0
    /// With self-check: the first schedule whose replay did not reproduce it.
    public var divergence: String?
    /// The command's deadline or memory ceiling, when it stopped the exploration.
    public var limitReached: LimitReached?
    /// The slowest run, for whatever runs next to judge whether it can end in time.
    public var slowestRun = Duration.zero

    /// PCT's guarantee per schedule for a bug of depth d: 1/(n·k^(d−1)).
    public func pctBound(depth: Int) -> Double {
        1 / (Double(max(threads, 1)) * pow(Double(max(decisionsPerRun, 1)), Double(depth - 1)))
    }
}

@Sim
public enum Explorer {
    public static func explore(_ scenario: Scenario, source: String, base: RunOptions,
                               _ options: ExploreOptions) async throws(ScenarioError) -> ExploreResult {
        let clock = ContinuousClock()
        let start = clock.now
        if let reached = options.limits.exceeded() {
            var none = ExploreResult(found: nil, schedules: 0, seconds: 0, otherFailures: [:], decisionsPerRun: 1, threads: 0)
            none.limitReached = reached
            return none
        }
        // Every run checks the limits as it goes too: one run can be longer than the whole budget.
        var base = base
        base.limits = options.limits
        var first = base
        first.seed = 0
        let probe = try await ScenarioRunner.run(scenario, source: source, options: first)
        // The slowest run so far, for `ResourceLimits.exceeded`: no run starts unless it, and
        // the runs after it (shrinking's, the report's), can end before the deadline.
        var slowest = clock.now - start
        let k = max(probe.decisions, 1)
        var result = ExploreResult(found: nil, schedules: 0, seconds: 0, otherFailures: [:], decisionsPerRun: k,
                                   threads: probe.threads)
        if let reached = probe.outcome.limitReached {
            result.limitReached = reached
            result.seconds = (clock.now - start).seconds
            result.slowestRun = clock.now - start
            return result
        }
        // The first run is a schedule like any other (file order: DFS's first branch too), so a
        // failure there ends the search at once, however little time is left.
        if !options.selfCheck, options.stopsAt(probe.outcome) {
            result.found = probe
            result.schedules = 1
            result.distinctTraces = 1
            result.seconds = (clock.now - start).seconds
            result.slowestRun = clock.now - start
            return result
        }
        // The portfolio takes turns: uniform random, PCT, and the next branch of the DFS tree
        // (while it lasts); a single strategy runs alone.
        let shards = UInt64(max(options.shard.count, 1))
        var seed = options.firstSeed + UInt64(options.shard.index)
        let dfsHere = (options.strategy == .dfs || options.strategy == .portfolio) && options.shard.index == 0
        var dfsPrefix: [Int]? = dfsHere ? [] : nil
        var dfsWasBounded = false
        var turn = 0
        var traces = Set<UInt64>()
        var lastProgress = clock.now
        while result.schedules < options.runs {
            if let limit = options.seconds, (clock.now - start).seconds > limit { break }
            if let reached = options.limits.exceeded(slowestRun: slowest) {
                result.limitReached = reached
                break
            }
            if let progress = options.progress, (clock.now - lastProgress).seconds >= 1 {
                lastProgress = clock.now
                progress(result.schedules, (clock.now - start).seconds, traces.count)
            }
            var o = base
            var log: DFSStrategy.Log?
            let kind: ExploreStrategy = switch options.strategy {
            case .portfolio: [.random, .pct, .dfs][turn % 3]
            default: options.strategy
            }
            turn += 1
            switch kind {
            case .dfs:
                guard let prefix = dfsPrefix else {
                    if options.strategy == .dfs { break }
                    continue
                }
                log = DFSStrategy.Log()
                o.dfs = (prefix, log!)
                // The last DFS run made every decision of this prefix but the last, and its
                // audit saw the steps before it.
                o.auditFromDecision = max(prefix.count - 1, 0)
            case .pct:
                o.seed = seed
                o.pct = (k, options.depth)
                seed += shards
            case .random, .portfolio:
                o.seed = seed
                seed += shards
            }
            if kind == .dfs && log == nil { break }
            o.hashState = options.selfCheck
            let began = clock.now
            let report = try await ScenarioRunner.run(scenario, source: source, options: o)
            slowest = max(slowest, clock.now - began)
            if let reached = report.outcome.limitReached {
                result.limitReached = reached
                break
            }
            result.schedules += 1
            traces.insert(report.traceHash)
            if options.selfCheck {
                var again = base
                again.replay = ReplayToken.decode(report.token)
                again.hashState = true
                let second = try await ScenarioRunner.run(scenario, source: source, options: again)
                if let reached = second.outcome.limitReached {
                    result.limitReached = reached
                    break
                }
                if second.traceHash != report.traceHash || second.lines != report.lines || second.outcome != report.outcome
                    || second.stateHash != report.stateHash {
                    result.divergence = "schedule \(report.token) did not replay: \(report.outcome.summary) / \(second.outcome.summary)"
                    break
                }
            }
            if options.stopsAt(report.outcome) {
                result.found = report
                break
            }
            if report.outcome.isFailure { result.otherFailures[report.outcome.kindName, default: 0] += 1 }
            if let log {
                dfsPrefix = DFSStrategy.nextPrefix(after: log.decisions, maxPreemptions: options.preemptions)
                dfsWasBounded = dfsWasBounded
                    || DFSStrategy.boundCutAnAlternative(log.decisions, maxPreemptions: options.preemptions)
                if dfsPrefix == nil {
                    result.exhausted = true
                    // Every schedule has run: more random or PCT runs would only repeat them.
                    result.complete = !dfsWasBounded
                    if options.strategy == .dfs || result.complete { break }
                }
            }
        }
        result.seconds = (clock.now - start).seconds
        result.distinctTraces = traces.count
        result.slowestRun = slowest
        return result
    }

}

extension Duration {
    /// In seconds, as a Double (for rates and reports).
    public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

extension Outcome {
    /// "PASS", "FAIL", the BUG's kind, or "STOPPED".
    public var kindName: String {
        switch self {
        case .pass: "PASS"
        case .fail: "FAIL"
        case .bug(let f): f.kind.rawValue
        case .stopped: "STOPPED"
        }
    }

    /// The limit that stopped the run, if one did.
    public var limitReached: LimitReached? {
        if case .stopped(let reached) = self { reached } else { nil }
    }
}

private func pow(_ x: Double, _ y: Double) -> Double {
    var r = 1.0
    for _ in 0..<Int(y) { r *= x }
    return r
}

/// `uvm explore` on one file: what the search found, shrunk, and the shrunk schedule run once
/// more with its trace for the report.
public struct ExploreFinding: Sendable {
    public var exploration: ExploreResult
    public var shrunk: ShrinkResult?
    public var traced: RunReport?
}

extension Explorer {
    /// Search, shrinking and the traced run, all inside `options.limits`: the search and the
    /// shrinker start a run only if it and the report's run can end before the deadline (by
    /// the slowest run so far, with a margin), and the shrinker keeps the best failure so far,
    /// so a cut leaves a failure that replays.
    public static func exploreAndShrink(_ scenario: Scenario, source: String, base: RunOptions,
                                        _ options: ExploreOptions) async throws(ScenarioError) -> ExploreFinding {
        let result = try await explore(scenario, source: source, base: base, options)
        guard let found = result.found else { return ExploreFinding(exploration: result) }
        let shrunk = try await Shrinker.shrink(scenario, source: source, base: base, failing: found, limits: options.limits,
                                               slowestRun: result.slowestRun)
        var traced = base
        traced.replay = ReplayToken.decode(shrunk.report.token)
        traced.trace = true
        traced.limits = options.limits
        let again = try await ScenarioRunner.run(shrunk.scenario, source: source, options: traced)
        // A traced run the limits stopped leaves the shrunk failure as it is, without a timeline.
        return ExploreFinding(exploration: result, shrunk: shrunk, traced: again.outcome.limitReached == nil ? again : shrunk.report)
    }
}
