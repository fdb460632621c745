// Loads scenario files, runs them, and prints results in text or JSON.

import ArgumentParser
import Foundation
import UVMRunner
import UVMScenario
import UVMSched

enum Driver {
    /// Set by a command run with `--json`: errors go to standard output as JSON too.
    nonisolated(unsafe) static var json = false

    /// The `--policy` words that reproduce `o`'s overrides on a command line.
    static func policyWords(_ o: RunOptions) -> String {
        o.policy.map { " --policy " + ($0.value.isEmpty ? $0.knob : "\($0.knob)=\($0.value)") }.joined()
    }

    /// The options after a replay token that reproduce what `o` detects: `--audit` and the
    /// `--policy` words (both are in the token's fingerprint).
    static func replayWords(_ o: RunOptions) -> String {
        (o.auditEveryStep ? " --audit" : "") + policyWords(o)
    }

    /// The command that reproduces `report`, a run of `file` with `o`.
    static func replayCommand(_ file: String, _ report: RunReport, _ o: RunOptions) -> String {
        "uvm replay \(file) \(report.token)" + replayWords(o)
    }

    /// Sets `o` to follow `token`'s schedule, or refuses (exit 64) a token that is not one, or
    /// whose fingerprint says it was made for another scenario, policy or audit setting.
    static func follow(_ token: String, _ file: String, _ scenario: Scenario, _ text: String, _ o: inout RunOptions) throws {
        guard let parsed = ReplayToken.parse(token) else {
            throw scenarioError("not a replay token: '\(token)' (expected t1-ORIGIN.CHOICES.FINGERPRINT, docs/replay-tokens.md)")
        }
        if let misfit = ReplayToken.misfit(parsed, scenario, source: text, options: o) {
            throw scenarioError("\(file): refusing token \(token): \(misfit)")
        }
        if parsed.fingerprint == nil {
            printError("note: \(token) has no fingerprint (an older token), so nothing checks that it belongs to \(file)")
        }
        o.replay = parsed.choices
        o.replayOrigin = parsed.origin
    }

    /// Parses `file`, or prints its error and exits 64.
    static func load(_ file: String) throws -> (Scenario, String) {
        do {
            return try ScenarioParser.parse(contentsOf: file)
        } catch {
            throw scenarioError(error.description)
        }
    }

    static func execute(_ scenario: Scenario, _ text: String, _ o: RunOptions) async throws -> RunReport {
        do {
            return try await ScenarioRunner.run(scenario, source: text, options: o)
        } catch {
            throw scenarioError(error.description)
        }
    }

    /// `uvm run` and `uvm replay`: the lines and their results, the timeline (always for a FAIL
    /// or BUG), the outcome, and the command that replays it.
    static func runOnce(_ file: String, _ base: RunOptions, token: String?, _ t: TimelineOptions, json: Bool) async throws {
        let (scenario, text) = try load(file)
        var o = base
        if let token { try follow(token, file, scenario, text, &o) }
        o.trace = t.trace || t.steps || t.traceJSON != nil
        var report = try await execute(scenario, text, o)
        if report.outcome.isFailure, !o.trace {
            // Replay the same schedule with the trace on: a FAIL or BUG always comes with its timeline.
            let parsed = ReplayToken.parse(report.token)
            o.replay = parsed?.choices
            o.replayOrigin = parsed?.origin
            o.trace = true
            report = try await execute(scenario, text, o)
        }
        if let path = t.traceJSON, let timeline = report.timeline { try write(timeline.chromeTrace(), to: path) }
        let replay = replayCommand(file, report, o)
        if json {
            printJSON(file, report, replay: report.outcome.isFailure ? replay : nil)
        } else {
            for l in report.lines { print(l) }
            if let timeline = report.timeline {
                print(timeline.render(steps: t.steps))
            } else {
                print(report.outcome.summary)
            }
            if report.outcome.isFailure { print("replay: " + replay) }
        }
        if report.outcome.exitCode != 0 { throw ExitCode(report.outcome.exitCode) }
    }

    static func check(_ dir: String, _ o: CatalogOptions, reportDir: String?, json: Bool) async throws -> Bool {
        let files: [String]
        do {
            files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".uvm") }.sorted()
        } catch {
            throw scenarioError("\(dir): expected a directory of catalog scenarios")
        }
        if let reportDir {
            do {
                try FileManager.default.createDirectory(atPath: reportDir, withIntermediateDirectories: true)
            } catch {
                throw scenarioError("\(reportDir): cannot make the report directory (\(error.localizedDescription))")
            }
        }
        var rows: [CatalogRow] = []
        var index: [HTMLReport.CatalogLine] = []
        for name in files {
            let path = dir + "/" + name
            let (scenario, text) = try load(path)
            guard let entry = CatalogEntry.parse(text, file: path) else {
                throw scenarioError("\(path):1:1: expected a '# catalog: id=.. seed=.. knob=.. bug=..' header line")
            }
            do {
                rows.append(try await Catalog.check(entry, scenario: scenario, source: text, o))
            } catch {
                throw scenarioError(error.description)
            }
            if !json {
                printRow(rows.last!, header: rows.count == 1)
                // Each row as it is finished, even into a pipe (fflush(NULL) flushes every stream).
                fflush(nil)
            }
            if let reportDir {
                index.append(try await catalogReports(rows.last!, scenario, text, path, o.policy, to: reportDir))
            }
        }
        if let reportDir { try write(HTMLReport.catalogIndex(index), to: reportDir + "/index.html") }
        if json {
            print("[" + rows.map(jsonRow).joined(separator: ",") + "]")
        } else {
            let missed = rows.filter { !$0.ok }.map(\.entry.id)
            print(missed.isEmpty ? "\(rows.count) entries: every historic BUG found, modern clean"
                                 : "MISSED: \(missed.joined(separator: ", "))")
        }
        return rows.allSatisfy(\.ok)
    }

    /// `check --report DIR`: the entry's historic BUG replayed from the schedule that found it,
    /// and a file-order run under modern, each as a page; returns the entry's line of the index.
    private static func catalogReports(_ row: CatalogRow, _ scenario: Scenario, _ text: String, _ path: String,
                                       _ overrides: [(knob: String, value: String)], to dir: String) async throws -> HTMLReport.CatalogLine {
        var modern = RunOptions()
        // As `Catalog.check` runs each entry: the audit at every step, modern whatever the file says.
        modern.auditEveryStep = true
        modern.trace = true
        modern.showState = true
        modern.policy = [("modern", "")] + overrides
        var line = HTMLReport.CatalogLine(id: row.entry.id, knobs: knobText(row.entry),
                                          expected: row.entry.bugs.isEmpty ? "PASS" : row.entry.bugs.joined(separator: "|"))
        if let found = row.historic?.found, let token = ReplayToken.parse(found.token) {
            var historic = modern
            historic.policy = [("modern", "")] + row.entry.knobs + overrides
            historic.replay = token.choices
            historic.replayOrigin = token.origin
            let report = try await execute(scenario, text, historic)
            line.historicPage = "\(row.entry.id)-historic.html"
            line.historic = report.outcome.summary
            try write(HTMLReport.render(file: path, source: text, report: report, replay: replayCommand(path, report, historic)),
                      to: dir + "/" + line.historicPage!)
        }
        let report = try await execute(scenario, text, modern)
        line.modernPage = "\(row.entry.id)-modern.html"
        line.modern = report.outcome.summary
        try write(HTMLReport.render(file: path, source: text, report: report, replay: replayCommand(path, report, modern)),
                  to: dir + "/" + line.modernPage)
        return line
    }

    static func write(_ text: String, to path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) else {
            throw scenarioError("\(path): cannot write there")
        }
    }

    private static func knobText(_ e: CatalogEntry) -> String {
        e.knobs.isEmpty ? "(modern only)" : e.knobs.map { "\($0.knob)=\($0.value)" }.joined(separator: ",")
    }

    private static func printRow(_ r: CatalogRow, header: Bool) {
        if header {
            print("id".padding(5) + "seed".padding(5) + "historic knob".padding(32) + "expected BUG".padding(18) + "found".padding(68) + "modern")
        }
        let expected = r.entry.bugs.isEmpty ? "PASS, data copied" : r.entry.bugs.joined(separator: "|")
        var found = "-"
        if !r.entry.bugs.isEmpty {
            if let h = r.historic, let f = h.found {
                let shrunk = switch r.shrunkSteps {
                case let n? where n < f.steps: "shrunk to \(n) steps"
                case let n? where n > f.steps: "\(n) steps at the least depth"
                default: "not shrunk, \(f.steps) steps"
                }
                found = "\(f.outcome.kindName) in \(h.schedules) sched, \(String(format: "%.2f", h.seconds)) s; \(shrunk), depth " + (r.depth.map(String.init) ?? ">3")
                if r.campaign.count > 1 {
                    let secs = r.campaign.map(\.seconds).sorted()
                    found += String(format: " (median %.2f s, worst %.2f s)", secs[secs.count / 2], secs.last!)
                }
            } else {
                found = "MISSED after \(r.historic?.schedules ?? 0) sched"
            }
        }
        let modern = r.modern.found.map { "FAIL: \($0.outcome.summary)" }
            ?? "pass, \(r.modern.schedules) sched, " + (r.modern.complete ? "every schedule" : r.modern.exhausted ? "dfs exhausted" : "dfs NOT exhausted")
        print(r.entry.id.padding(5) + r.entry.seed.padding(5) + knobText(r.entry).padding(32) + expected.padding(18) + found.padding(68) + modern)
    }

    private static func jsonRow(_ r: CatalogRow) -> String {
        var f = ["\"id\":\(quote(r.entry.id))", "\"seed\":\(quote(r.entry.seed))", "\"knob\":\(quote(knobText(r.entry)))",
                 "\"expected\":\(quote(r.entry.bugs.joined(separator: "|")))", "\"ok\":\(r.ok)"]
        if let h = r.historic {
            f.append("\"historic\":{\"found\":\(quote(h.found?.outcome.kindName ?? "")),\"schedules\":\(h.schedules),\"seconds\":\(h.seconds),\"steps\":\(h.found?.steps ?? 0),\"shrunkSteps\":\(r.shrunkSteps ?? 0),\"depth\":\(r.depth.map(String.init) ?? "null"),\"token\":\(quote(h.found?.token ?? ""))}")
        }
        f.append("\"modern\":{\"schedules\":\(r.modern.schedules),\"exhausted\":\(r.modern.exhausted),\"complete\":\(r.modern.complete),\"clean\":\(r.modernClean)}")
        return "{" + f.joined(separator: ",") + "}"
    }

    /// `uvm show`: the state at the moment asked for (or what changed between two steps), then
    /// the outcome; exits with the run's code.
    static func show(_ file: String, _ base: RunOptions, token: String?, json: Bool) async throws {
        let (scenario, text) = try load(file)
        var o = base
        if let token { try follow(token, file, scenario, text, &o) }
        for case .beforeLine(let n) in o.showAt where !Show.lines(of: scenario).contains(n) {
            throw scenarioError("\(file):\(n): --line expects a line with an operation or an expect")
        }
        let report = try await execute(scenario, text, o)
        func missing(_ m: ShowMoment) -> String {
            switch m {
            case .step(let n): "(no state: step \(n) was never reached; the run has \(report.steps) steps)"
            case .beforeLine(let n): "(no state: line \(n) never ran; the run stopped before it)"
            case .outcome: "(no state)"
            }
        }
        let replay = replayCommand(file, report, o)
        if json {
            printJSON(file, report, replay: report.outcome.isFailure ? replay : nil)
        } else {
            if o.showAt.count == 2 {
                if let a = report.snapshots[0], let b = report.snapshots[1] {
                    print(Show.diff(a, b))
                } else {
                    print(missing(report.snapshots[0] == nil ? o.showAt[0] : o.showAt[1]))
                }
            } else {
                print(report.state ?? missing(o.showAt[0]))
            }
            print(report.outcome.summary)
            if case .bug(let f) = report.outcome { for d in f.details { print("  " + d) } }
            if report.outcome.isFailure { print("replay: " + replay) }
        }
        if report.outcome.exitCode != 0 { throw ExitCode(report.outcome.exitCode) }
    }

    /// `uvm report`: the run traced, with a snapshot at its outcome, as one HTML page.
    static func report(_ file: String, _ base: RunOptions, token: String?, to path: String) async throws {
        let (scenario, text) = try load(file)
        var o = base
        if let token { try follow(token, file, scenario, text, &o) }
        o.trace = true
        o.showState = true
        o.showAt = [.outcome]
        let report = try await execute(scenario, text, o)
        let page = HTMLReport.render(file: file, source: text, report: report,
                                     replay: replayCommand(file, report, o))
        try write(page, to: path)
        print("\(path): \(report.outcome.summary)")
    }

    /// One JSON document for the run (docs/json.md).
    static func printJSON(_ file: String, _ r: RunReport, schedules: Int? = nil, replay: String? = nil) {
        print(RunJSON.document(file: file, report: r, replay: replay, extra: schedules.map { ["schedules": $0] } ?? [:]))
    }

    static func quote(_ s: String) -> String { jsonString(s) }

    static func printError(_ s: String) {
        FileHandle.standardError.write((s + "\n").data(using: .utf8)!)
    }

    /// A usage or scenario-file error: on standard error, and as JSON with `--json`; exit 64.
    static func scenarioError(_ s: String) -> ExitCode {
        printError(s)
        if json { print(#"{"outcome":"ERROR","error":\#(quote(s))}"#) }
        return ExitCode(64)
    }
}
