// `uvm fuzz --knob-table`: for every historic knob of the catalog (with the companion knob its
// entry uses), a campaign from nothing — no catalog scenario given — until it finds a BUG of the
// entry's kind, or the time runs out.

import Foundation
import UVMRunner

public enum KnobTable {
    /// One catalog entry's campaign: the knobs it set, the kinds it looked for, and what it found.
    public struct Row: Sendable {
        public var knobs: [(knob: String, value: String)]
        public var kinds: [String]
        /// The first BUG of one of `kinds`, or nil when the time ran out first.
        public var finding: Finding?
        public var seconds: Double
        public var scenarios: Int

        public var knobWords: String { knobs.map { "\($0.knob)=\($0.value)" }.joined(separator: ",") }
    }

    /// The catalog's entries with a historic knob, one per distinct knob setting, by file name.
    public static func entries(catalog: String) -> [CatalogEntry] {
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: catalog)) ?? []).filter { $0.hasSuffix(".uvm") }.sorted()
        var entries: [CatalogEntry] = []
        for file in files {
            guard let text = try? String(contentsOfFile: catalog + "/" + file, encoding: .utf8),
                  let entry = CatalogEntry.parse(text, file: file), !entry.knobs.isEmpty,
                  !entries.contains(where: { $0.knobs.map { "\($0)=\($1)" } == entry.knobs.map { "\($0)=\($1)" } })
            else { continue }
            entries.append(entry)
        }
        return entries
    }

    /// Fuzzes under `entry`'s knobs until a BUG of its kind, shrinking it as a campaign does,
    /// within `shrinkSeconds` (a budget that keeps the table quick), for at most `seconds` or
    /// `scenarios` (a count does not depend on how loaded the machine is).
    public static func campaign(for entry: CatalogEntry, seconds: Double?, scenarios: Int? = nil, seed: UInt64,
                                schedules: Int, shrinkSeconds: Double = 5) async throws(FuzzError) -> Row {
        var o = FuzzOptions()
        o.policy = entry.knobs
        o.seconds = seconds
        o.scenarios = scenarios
        o.firstSeed = seed
        o.schedules = schedules
        o.keepGoing = true
        o.stopKinds = Set(entry.bugs)
        o.shrinkSeconds = shrinkSeconds
        o.out = NSTemporaryDirectory() + "uvm-knob-table-\(entry.id)-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: o.out) }
        let result = try await Fuzzer.run(o)
        let finding = result.findings.last.flatMap { entry.bugs.contains($0.kind) ? $0 : nil }
        return Row(knobs: entry.knobs, kinds: entry.bugs, finding: finding, seconds: result.stats.seconds, scenarios: result.stats.scenarios)
    }

    /// The middle value of `values` (the upper one of an even count), nil for none.
    public static func median<T: Comparable>(_ values: [T]) -> T? {
        values.isEmpty ? nil : values.sorted()[values.count / 2]
    }
}
