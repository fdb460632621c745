// The bug catalog (docs/catalog.md, W1–W13): each entry is a scenario whose header names its seed,
// the historic knobs that bring its bug back, and the BUG kind the checker must find under them.
// Under `policy modern` every schedule explored must pass.
//
// Header line:  # catalog: id=W1 seed=000 knob=truncate=free bug=use-after-free
// (`knob=` takes KNOB=VALUE[,KNOB=VALUE...] or `none`; `bug=` takes kinds separated by `|`).

import UVMCore
import UVMScenario
import UVMSched

public struct CatalogEntry: Sendable {
    public var id: String
    public var seed: String
    public var knobs: [(knob: String, value: String)]
    public var bugs: [String]
    public var file: String

    /// Reads a catalog scenario's header line, `# catalog: id=W1 seed=000 knob=K=V[,K=V] bug=KIND[|KIND]`
    /// (`knob=none bug=none` for an entry that only runs under modern). Nil without one: what an
    /// entry expects is never guessed from its prose.
    public static func parse(_ text: String, file: String) -> CatalogEntry? {
        text.split(separator: "\n").first { $0.hasPrefix("# catalog:") }.flatMap { parseExact(String($0), file: file) }
    }

    private static func parseExact(_ line: String, file: String) -> CatalogEntry? {
        var fields: [String: String] = [:]
        for word in line.dropFirst("# catalog:".count).split(separator: " ") {
            guard let eq = word.firstIndex(of: "=") else { continue }
            fields[String(word[..<eq])] = String(word[word.index(after: eq)...])
        }
        guard let id = fields["id"], let knob = fields["knob"], let bug = fields["bug"] else { return nil }
        let knobs: [(String, String)] = knob == "none" ? [] : knob.split(separator: ",").compactMap { kv in
            guard let eq = kv.firstIndex(of: "=") else { return nil }
            return (String(kv[..<eq]), String(kv[kv.index(after: eq)...]))
        }
        return CatalogEntry(id: id, seed: fields["seed"] ?? "-", knobs: knobs,
                            bugs: bug == "none" ? [] : bug.split(separator: "|").map(String.init), file: file)
    }
}

public struct CatalogRow: Sendable {
    public var entry: CatalogEntry
    /// Under the historic knobs: the exploration that looked for the entry's BUG.
    public var historic: ExploreResult?
    /// Under policy modern.
    public var modern: ExploreResult
    /// Time to find over several master seeds (schedules, seconds), when asked for.
    public var campaign: [(schedules: Int, seconds: Double)] = []
    /// The found BUG's depth (preemptions) and the steps of its shallowest schedule.
    public var depth: Int?
    public var shrunkSteps: Int?

    public var found: Bool { entry.bugs.isEmpty || historic?.found != nil }
    public var modernClean: Bool { modern.found == nil && modern.exhausted }
    public var ok: Bool { found && modernClean }
}

public struct CatalogOptions: Sendable {
    public var historicRuns = 10_000
    public var historicSeconds = 60.0
    public var modernRuns = 200
    /// Schedules DFS may take to exhaust the modern tree at the default bound.
    public var dfsBudget = 50_000
    /// Master seeds for the time-to-find campaign (1: just the first search).
    public var masterSeeds = 1
    /// `--policy` overrides, applied on top of both runs' policies.
    public var policy: [(knob: String, value: String)] = []
    public init() {}
}

@Sim
public enum Catalog {
    public static func check(_ entry: CatalogEntry, scenario: Scenario, source: String,
                             _ options: CatalogOptions) async throws(ScenarioError) -> CatalogRow {
        var base = RunOptions()
        base.auditEveryStep = true
        // Modern whatever the file says: the whole DFS tree at the default preemption bound,
        // then random and PCT runs.
        base.policy = [("modern", "")] + options.policy
        var dfs = ExploreOptions()
        dfs.strategy = .dfs
        dfs.runs = options.dfsBudget
        var modern = try await Explorer.explore(scenario, source: source, base: base, dfs)
        if modern.found == nil {
            var more = ExploreOptions()
            more.runs = options.modernRuns
            let sampled = try await Explorer.explore(scenario, source: source, base: base, more)
            modern.found = sampled.found
            modern.schedules += sampled.schedules
            modern.seconds += sampled.seconds
        }
        var row = CatalogRow(entry: entry, historic: nil, modern: modern)
        guard !entry.bugs.isEmpty else { return row }
        var historicBase = base
        historicBase.policy = [("modern", "")] + entry.knobs + options.policy
        let wanted = Set(entry.bugs)
        for master in 0..<max(options.masterSeeds, 1) {
            var e = ExploreOptions()
            e.runs = options.historicRuns
            e.seconds = options.historicSeconds
            e.firstSeed = 1 + UInt64(master) * 1_000_003
            e.stopsAt = { outcome in
                if case .bug(let f) = outcome { return wanted.contains(f.kind.rawValue) }
                return false
            }
            let r = try await Explorer.explore(scenario, source: source, base: historicBase, e)
            if master == 0 {
                row.historic = r
                if let found = r.found {
                    // Each entry's shrinking has a budget of its own, as a fuzz reproducer's does:
                    // a catalog row must not stall the table.
                    let shrunk = try await Shrinker.shrink(scenario, source: source, base: historicBase, failing: found,
                                                           dropOperations: false,
                                                           limits: ResourceLimits(seconds: 5, maxResidentMegabytes: nil))
                    row.depth = shrunk.depth
                    row.shrunkSteps = shrunk.report.steps
                }
            }
            if r.found != nil { row.campaign.append((r.schedules, r.seconds)) }
        }
        return row
    }
}
