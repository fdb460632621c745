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

    static func decode(_ token: String) throws -> [Int] {
        guard let c = ReplayToken.decode(token) else { throw ValidationError("not a replay token: '\(token)'") }
        return c
    }

    /// Parses `file`, or prints its error and exits 64.
    static func load(_ file: String) throws -> (Scenario, String) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory) else {
            throw scenarioError("\(file): no such file")
        }
        guard !isDirectory.boolValue else { throw scenarioError("\(file): is a directory, not a scenario file") }
        guard let data = FileManager.default.contents(atPath: file), let text = String(data: data, encoding: .utf8) else {
            throw scenarioError("\(file): not a readable UTF-8 text file")
        }
        do {
            return (try ScenarioParser.parse(text, file: file), text)
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

    static func runOnce(_ file: String, _ o: RunOptions, json: Bool) async throws {
        let (scenario, text) = try load(file)
        var report = try await execute(scenario, text, o)
        if case .bug = report.outcome, !o.trace {
            // Replay the same schedule with the trace on: a BUG always comes with its steps.
            var again = o
            again.replay = ReplayToken.decode(report.token)
            again.trace = true
            report = try await execute(scenario, text, again)
        }
        if json {
            printJSON(file, report)
        } else {
            for l in report.lines { print(l) }
            if !report.trace.isEmpty {
                print("trace:")
                for t in report.trace { print("  " + t) }
            }
            print(report.outcome.summary)
            if case .bug(let f) = report.outcome {
                for d in f.details { print("  " + d) }
            }
            if report.outcome != .pass { print("replay: uvm replay \(file) \(report.token)" + policyWords(o)) }
        }
        if report.outcome.exitCode != 0 { throw ExitCode(report.outcome.exitCode) }
    }

    static func check(_ dir: String, _ o: CatalogOptions, json: Bool) async throws -> Bool {
        let files: [String]
        do {
            files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".uvm") }.sorted()
        } catch {
            throw scenarioError("\(dir): expected a directory of catalog scenarios")
        }
        var rows: [CatalogRow] = []
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
            if !json { printRow(rows.last!, header: rows.count == 1) }
        }
        if json {
            print("[" + rows.map(jsonRow).joined(separator: ",") + "]")
        } else {
            let missed = rows.filter { !$0.ok }.map(\.entry.id)
            print(missed.isEmpty ? "\(rows.count) entries: every historic BUG found, modern clean"
                                 : "MISSED: \(missed.joined(separator: ", "))")
        }
        return rows.allSatisfy(\.ok)
    }

    private static func knobText(_ e: CatalogEntry) -> String {
        e.knobs.isEmpty ? "(modern only)" : e.knobs.map { "\($0.knob)=\($0.value)" }.joined(separator: ",")
    }

    private static func printRow(_ r: CatalogRow, header: Bool) {
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }
        if header {
            print(pad("id", 5) + pad("seed", 5) + pad("historic knob", 32) + pad("expected BUG", 18) + pad("found", 58) + "modern")
        }
        let expected = r.entry.bugs.isEmpty ? "PASS, data copied" : r.entry.bugs.joined(separator: "|")
        var found = "-"
        if !r.entry.bugs.isEmpty {
            if let h = r.historic, let f = h.found {
                found = "\(f.outcome.kindName) in \(h.schedules) sched, \(String(format: "%.2f", h.seconds)) s; shrunk \(r.shrunkSteps ?? f.steps) steps, depth " + (r.depth.map(String.init) ?? ">3")
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
        print(pad(r.entry.id, 5) + pad(r.entry.seed, 5) + pad(knobText(r.entry), 32) + pad(expected, 18) + pad(found, 58) + modern)
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

    static func show(_ file: String, _ o: RunOptions, json: Bool) async throws {
        let (scenario, text) = try load(file)
        let report = try await execute(scenario, text, o)
        if json {
            printJSON(file, report)
        } else {
            print(report.state ?? "(no state: step \(o.snapshotStep ?? 0) was never reached; the run has \(report.steps) steps)")
            print(report.outcome.summary)
        }
    }

    static func printJSON(_ file: String, _ r: RunReport, schedules: Int? = nil) {
        var fields: [String] = ["\"file\":\(quote(file))"]
        switch r.outcome {
        case .pass: fields.append(#""outcome":"PASS""#)
        case .fail(let line, let expected, let got):
            fields.append(#""outcome":"FAIL","line":\#(line),"expected":\#(quote(expected)),"got":\#(quote(got))"#)
        case .bug(let f):
            fields.append(#""outcome":"BUG","kind":\#(quote(f.kind.rawValue)),"message":\#(quote(f.message))"#)
            fields.append("\"details\":[" + f.details.map(quote).joined(separator: ",") + "]")
        }
        fields.append("\"token\":\(quote(r.token))")
        fields.append("\"steps\":\(r.steps)")
        if let schedules { fields.append("\"schedules\":\(schedules)") }
        fields.append("\"lines\":[" + r.lines.map(quote).joined(separator: ",") + "]")
        if !r.trace.isEmpty { fields.append("\"trace\":[" + r.trace.map(quote).joined(separator: ",") + "]") }
        if let s = r.state { fields.append("\"state\":\(quote(s))") }
        print("{" + fields.joined(separator: ",") + "}")
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }

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
