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
    /// Which outcomes stop the exploration (by default, anything but PASS).
    public var stopsAt: @Sendable (Outcome) -> Bool = { $0 != .pass }

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
        var first = base
        first.seed = 0
        let probe = try await ScenarioRunner.run(scenario, source: source, options: first)
        let k = max(probe.decisions, 1)
        var result = ExploreResult(found: nil, schedules: 0, seconds: 0, otherFailures: [:], decisionsPerRun: k,
                                   threads: probe.threads)
        // The portfolio takes turns: uniform random, PCT, and the next branch of the DFS tree
        // (while it lasts); a single strategy runs alone.
        var seed = options.firstSeed
        var dfsPrefix: [Int]? = options.strategy == .dfs || options.strategy == .portfolio ? [] : nil
        var turn = 0
        while result.schedules < options.runs {
            if let limit = options.seconds, seconds(clock.now - start) > limit { break }
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
            case .pct:
                o.seed = seed
                o.pct = (k, options.depth)
                seed += 1
            case .random, .portfolio:
                o.seed = seed
                seed += 1
            }
            if kind == .dfs && log == nil { break }
            let report = try await ScenarioRunner.run(scenario, source: source, options: o)
            result.schedules += 1
            if options.stopsAt(report.outcome) {
                result.found = report
                break
            }
            if report.outcome != .pass { result.otherFailures[report.outcome.kindName, default: 0] += 1 }
            if let log {
                dfsPrefix = DFSStrategy.nextPrefix(after: log.decisions, maxPreemptions: options.preemptions)
                if dfsPrefix == nil {
                    result.exhausted = true
                    if options.strategy == .dfs { break }
                }
            }
        }
        result.seconds = seconds(clock.now - start)
        return result
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}

extension Outcome {
    /// "PASS", "FAIL", or the BUG's kind.
    public var kindName: String {
        switch self {
        case .pass: "PASS"
        case .fail: "FAIL"
        case .bug(let f): f.kind.rawValue
        }
    }
}

private func pow(_ x: Double, _ y: Double) -> Double {
    var r = 1.0
    for _ in 0..<Int(y) { r *= x }
    return r
}
