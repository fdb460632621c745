// Shrinking a failure, cheap by design and inside the command's limits. Delta debugging (Zeller
// and Hildebrandt's ddmin) removes the most first: half the preemptions of the failing schedule,
// then whole threads' operations, then halves, quarters, ... of the operations, then of the
// declarations no operation needs any more, then preemptions again; CHESS-style bounded DFS
// last checks whether a schedule with fewer preemptions fails the same way. Each candidate costs
// a few runs: the best schedule so far replayed on it, file order, and one seeded schedule. Only
// the best candidate is kept (a scenario and a report without a trace), so memory stays flat.
// When the failure shows without the per-step audit, candidates run without it and the audit
// only confirms one that still fails; a candidate schedule that repeats the best run's first
// decisions is not audited again before them (runs replay exactly, so they reach the states the
// best run's audit saw). A run cannot be resumed from the middle, since suspended Swift tasks
// cannot be copied, so each candidate still runs from the start. The result replays: its token
// runs the reduced scenario step for step.

import UVMScenario
import UVMSched

public struct ShrinkResult: Sendable {
    /// The reduced scenario and the run that fails on it.
    public var scenario: Scenario
    public var report: RunReport
    /// A failing run of the full scenario with the fewest preemptions found (replays on the
    /// original file).
    public var fullScenarioReport: RunReport
    /// Preemptions of the shrunk schedule: the failure's depth, as far as DFS at fewer
    /// preemptions could tell within its share of the runs.
    public var depth: Int?
    /// Source lines of the operations and declarations that were dropped.
    public var droppedLines: [Int]
    /// The limit that stopped shrinking before it was done: the result is the best so far.
    public var cutShort: LimitReached?
    /// Runs the shrinker made, the seconds it took, and the largest resident set seen between
    /// its runs.
    public var runs = 0
    public var seconds = 0.0
    public var peakResidentBytes = 0

    /// Operations and expectations left in the shrunk scenario.
    public var operationsLeft: Int { Shrinker.operationLines(of: scenario).count }
}

@Sim
public enum Shrinker {
    /// Whether two outcomes are the same failure: the same BUG kind, or a FAIL on the same line
    /// with the same result (a shrunk scenario whose line 12 reads 0x00 where the user's got
    /// SIGSEGV shows another failure, however close).
    public nonisolated static func sameFailure(_ a: Outcome, _ b: Outcome) -> Bool {
        switch (a, b) {
        case (.bug(let x), .bug(let y)): x.kind == y.kind
        case (.fail(let l1, _, let got1), .fail(let l2, _, let got2)): l1 == l2 && got1 == got2
        default: false
        }
    }

    /// Shrinks `failing`, a run of `scenario`, making at most `budget` runs and stopping when
    /// `limits` run out (`slowestRun`: the slowest the caller has seen, until the shrinker has
    /// timed its own). DFS looks for a shallower schedule only up to `maxPreemptions`.
    public static func shrink(_ scenario: Scenario, source: String, base: RunOptions, failing: RunReport,
                              maxPreemptions: Int = 3, budget: Int = 3000, dropOperations: Bool = true,
                              limits: ResourceLimits = .none, slowestRun: Duration = .zero) async throws(ScenarioError) -> ShrinkResult {
        let clock = ContinuousClock()
        let start = clock.now
        let session = ShrinkSession(scenario, source: source, base: base, failing: failing, runCap: budget, limits: limits,
                                    slowestRun: slowestRun)
        try await session.start()
        await session.fewerPreemptions()
        let fullScenarioReport = session.best.report
        if dropOperations {
            await session.fewerLines()
            await session.fewerPreemptions()
        }
        await session.shallowerByDFS(maxPreemptions: maxPreemptions)
        let kept = Set(droppableLines(of: session.best.scenario))
        return ShrinkResult(scenario: session.best.scenario, report: session.best.report,
                            fullScenarioReport: fullScenarioReport, depth: session.best.preemptions,
                            droppedLines: droppableLines(of: scenario).filter { !kept.contains($0) }.sorted(),
                            cutShort: session.stopped, runs: session.runs, seconds: (clock.now - start).seconds,
                            peakResidentBytes: session.peakResidentBytes)
    }

    /// The lines of a scenario's operations and expectations: what shrinking may drop.
    nonisolated static func operationLines(of s: Scenario, actor: String? = nil) -> [Int] {
        var out: [Int] = []
        for st in s.statements {
            switch st.kind {
            case .operation(let op) where actor == nil || op.actor == actor: out.append(op.location.line)
            case .together(let ops): out += ops.filter { actor == nil || $0.actor == actor }.map(\.location.line)
            case .expect(let e) where actor == nil: out.append(e.location.line)
            default: break
            }
        }
        return out
    }

    /// The lines of a scenario's declarations of files, devices, processes and threads: once no
    /// operation needs one, shrinking may drop it too.
    nonisolated static func declarationLines(of s: Scenario) -> [Int] {
        s.statements.compactMap { st in
            switch st.kind {
            case .file, .device, .proc, .thread: st.location.line
            default: nil
            }
        }
    }

    nonisolated static func droppableLines(of s: Scenario) -> [Int] { operationLines(of: s) + declarationLines(of: s) }

    /// Actors with operations, those with the most first.
    static func actors(of s: Scenario) -> [String] {
        var count: [String: Int] = [:]
        var order: [String] = []
        for st in s.statements {
            let ops: [Operation] = switch st.kind {
            case .operation(let op): [op]
            case .together(let ops): ops
            default: []
            }
            for op in ops {
                if count[op.actor] == nil { order.append(op.actor) }
                count[op.actor, default: 0] += 1
            }
        }
        return order.sorted { count[$0, default: 0] > count[$1, default: 0] }
    }

    static func removing(lines: Set<Int>, from s: Scenario) -> Scenario {
        var out = s
        out.statements = s.statements.compactMap { st in
            switch st.kind {
            case .operation(let op): return lines.contains(op.location.line) ? nil : st
            case .expect(let e): return lines.contains(e.location.line) ? nil : st
            case .together(let ops):
                let kept = ops.filter { !lines.contains($0.location.line) }
                guard !kept.isEmpty else { return nil }
                var block = st
                block.kind = .together(kept)
                return block
            default: return lines.contains(st.location.line) ? nil : st
            }
        }
        return out
    }

    /// ddmin: tries dropping each of n chunks of `units` (n = 1, 2, 4, ... up to single units),
    /// going back to coarser chunks after each drop that kept the failure. `drop` returns the
    /// units left after such a drop, or nil.
    static func ddmin(_ units: [Int], until stopped: () -> Bool, _ drop: ([Int]) async -> [Int]?) async {
        var units = units
        var n = 1
        while !units.isEmpty && !stopped() {
            let size = (units.count + n - 1) / n
            var dropped = false
            for start in stride(from: 0, to: units.count, by: size) {
                if let left = await drop(Array(units[start..<min(start + size, units.count)])) {
                    units = left
                    n = max(n - 1, 2)
                    dropped = true
                    break
                }
                if stopped() { return }
            }
            if !dropped {
                if size == 1 { return }
                n = min(n * 2, units.count)
            }
        }
    }
}

extension RunReport {
    /// The schedule's choices, as its token records them.
    var choices: [Int] { ReplayToken.decode(token) ?? [] }
}

/// One shrinking: the best failing candidate so far and what has been spent.
@Sim
final class ShrinkSession {
    struct Candidate {
        var scenario: Scenario
        var report: RunReport
        /// The schedule's decisions, when the run logged them (runs that follow a prefix do).
        var decisions: [Decision]?
        var choices: [Int] { report.choices }
        var preemptions: Int? { decisions.map { $0.lazy.filter(\.isPreemption).count } }
    }

    let source: String
    let base: RunOptions
    let target: Outcome
    let runCap: Int
    let limits: ResourceLimits
    private(set) var best: Candidate
    private(set) var runs = 0
    private(set) var stopped: LimitReached?
    private(set) var peakResidentBytes = 0
    /// The slowest run so far, for `ResourceLimits.exceeded`.
    private var slowest: Duration
    /// The failure shows without the per-step audit, so candidates run without it.
    private var probeWithoutAudit = false
    /// Seeds given to candidates' seeded schedules so far.
    private var seeds: UInt64 = 0

    init(_ scenario: Scenario, source: String, base: RunOptions, failing: RunReport, runCap: Int, limits: ResourceLimits,
         slowestRun: Duration) {
        self.source = source
        slowest = slowestRun
        var quiet = base
        quiet.trace = false
        quiet.hashState = false
        quiet.replay = nil
        quiet.pct = nil
        quiet.limits = limits
        self.base = quiet
        target = failing.outcome
        self.runCap = runCap
        self.limits = limits
        best = Candidate(scenario: scenario, report: failing, decisions: nil)
    }

    var done: Bool { stopped != nil || runs >= runCap }

    /// Counts a run about to start; false once the limits or the run budget are spent.
    private func mayRun() -> Bool {
        peakResidentBytes = max(peakResidentBytes, ResidentSet.bytes())
        if stopped == nil { stopped = limits.exceeded(slowestRun: slowest) }
        guard !done else { return false }
        runs += 1
        return true
    }

    /// Runs `s`, timing the run for `mayRun`. A run the limits stopped fails no way at all, and
    /// ends the shrinking with the best candidate so far.
    private func timed(_ s: Scenario, _ o: RunOptions) async throws(ScenarioError) -> RunReport {
        let began = ContinuousClock.now
        defer { slowest = max(slowest, ContinuousClock.now - began) }
        let report = try await ScenarioRunner.run(s, source: source, options: o)
        if stopped == nil { stopped = report.outcome.limitReached }
        return report
    }

    /// Replays the failing schedule, logging its decisions, and finds out whether the failure
    /// needs the per-step audit to show. An error here is the scenario's own, not a candidate's.
    func start() async throws(ScenarioError) {
        let choices = best.choices
        if base.auditEveryStep, let quiet = try await run(best.scenario, following: choices, audit: false),
           Shrinker.sameFailure(quiet.report.outcome, target) {
            probeWithoutAudit = true
        }
        if let logged = try await run(best.scenario, following: choices, audit: base.auditEveryStep),
           Shrinker.sameFailure(logged.report.outcome, target) {
            best = logged
        }
    }

    /// Fewer preemptions: ddmin over the schedule's preemptions, each dropped one replaced by
    /// letting the running thread go on. The schedule is cut after the last preemption kept
    /// (file order from there), since past a changed choice the recorded ones no longer mean
    /// the same threads.
    func fewerPreemptions() async {
        guard best.decisions != nil else { return }
        await Shrinker.ddmin(preemptionIndices(), until: { self.done }) { chunk in
            guard let decisions = self.best.decisions, let before = self.best.preemptions else { return nil }
            let dropped = Set(chunk)
            let lastKept = self.preemptionIndices().last { !dropped.contains($0) }
            var prefix = Array(decisions.map(\.chosen).prefix(lastKept.map { $0 + 1 } ?? 0))
            for i in chunk where i < prefix.count { prefix[i] = decisions[i].defaultChoice }
            // Up to the first choice changed, the candidate repeats the best run, audited.
            let firstChanged = chunk.filter { $0 < prefix.count }.min() ?? prefix.count
            guard let c = await self.fails(self.best.scenario, following: prefix, auditedBefore: firstChanged),
                  let after = c.preemptions,
                  after < before else { return nil }
            self.best = c
            return self.preemptionIndices()
        }
    }

    private func preemptionIndices() -> [Int] {
        best.decisions?.enumerated().filter(\.element.isPreemption).map(\.offset) ?? []
    }

    /// Fewer lines: each thread's operations at once, then ddmin over every operation, then over
    /// the declarations (a process, a file) that no operation left needs.
    func fewerLines() async {
        for actor in Shrinker.actors(of: best.scenario) where !done {
            _ = await drop(Shrinker.operationLines(of: best.scenario, actor: actor))
        }
        await dropping { Shrinker.operationLines(of: $0) }
        await dropping(Shrinker.declarationLines(of:))
    }

    /// ddmin over the lines `units` finds in the best scenario so far.
    private func dropping(_ units: @escaping (Scenario) -> [Int]) async {
        await Shrinker.ddmin(units(best.scenario), until: { self.done }) { chunk in
            await self.drop(chunk) != nil ? units(self.best.scenario) : nil
        }
    }

    private func drop(_ lines: [Int]) async -> Candidate? {
        guard !lines.isEmpty else { return nil }
        let candidate = Shrinker.removing(lines: Set(lines), from: best.scenario)
        guard let c = await failsSomehow(candidate) else { return nil }
        best = c
        return c
    }

    /// CHESS's preemption bounding on the shrunk scenario: DFS at 0, 1, ... preemptions below the
    /// best schedule's, with a share of the runs left.
    func shallowerByDFS(maxPreemptions: Int) async {
        guard let have = best.preemptions else { return }
        for bound in 0..<min(have, maxPreemptions + 1) where !done {
            var e = ExploreOptions()
            e.strategy = .dfs
            e.preemptions = bound
            e.runs = min(200, runCap - runs)
            e.limits = limits
            let target = target
            e.stopsAt = { Shrinker.sameFailure($0, target) }
            var o = base
            o.auditEveryStep = base.auditEveryStep && !probeWithoutAudit
            guard let r = try? await Explorer.explore(best.scenario, source: source, base: o, e) else { return }
            runs += r.schedules + 1
            stopped = stopped ?? r.limitReached
            if let found = r.found, let c = await fails(best.scenario, following: found.choices),
               let p = c.preemptions, p < have {
                best = c
                return
            }
        }
    }

    /// The candidate scenario fails the same way under the best schedule so far, file order, or
    /// one seeded schedule.
    private func failsSomehow(_ s: Scenario) async -> Candidate? {
        let choices = best.choices
        if let c = await fails(s, following: choices) { return c }
        if !choices.isEmpty, let c = await fails(s, following: []) { return c }
        guard mayRun() else { return nil }
        seeds += 1
        var o = base
        o.seed = seeds
        o.auditEveryStep = base.auditEveryStep && !probeWithoutAudit
        guard let r = try? await timed(s, o),
              Shrinker.sameFailure(r.outcome, target) else { return nil }
        return await fails(s, following: r.choices)
    }

    /// A run of `s` following `prefix` that fails the same way, confirmed with the per-step
    /// audit when the probe ran without it. `auditedBefore`: the scheduling decisions `s` and
    /// `prefix` share with the best run, whose audit saw the steps before them.
    private func fails(_ s: Scenario, following prefix: [Int], auditedBefore: Int = 0) async -> Candidate? {
        guard let probe = try? await run(s, following: prefix, audit: base.auditEveryStep && !probeWithoutAudit,
                                         auditedBefore: auditedBefore),
              Shrinker.sameFailure(probe.report.outcome, target) else { return nil }
        guard base.auditEveryStep && probeWithoutAudit else { return probe }
        guard let confirmed = try? await run(s, following: probe.choices, audit: true, auditedBefore: auditedBefore),
              Shrinker.sameFailure(confirmed.report.outcome, target) else { return nil }
        return confirmed
    }

    /// One run that follows `prefix`, then file order, logging its decisions; nil when the
    /// limits have run out. A candidate that dropped a line binding a variable used later throws.
    private func run(_ s: Scenario, following prefix: [Int], audit: Bool,
                     auditedBefore: Int = 0) async throws(ScenarioError) -> Candidate? {
        guard mayRun() else { return nil }
        var o = base
        o.auditEveryStep = audit
        o.auditFromDecision = auditedBefore
        let log = DFSStrategy.Log()
        o.dfs = (prefix, log)
        let r = try await timed(s, o)
        return Candidate(scenario: s, report: r, decisions: log.decisions)
    }
}

