// Loads scenario files, runs them, and prints results in text or JSON.

import ArgumentParser
import Foundation
import UVMRunner
import UVMScenario
import UVMSched

enum Driver {
    static func decode(_ token: String) throws -> [Int] {
        guard let c = ReplayToken.decode(token) else { throw ValidationError("not a replay token: '\(token)'") }
        return c
    }

    /// Parses `file`, or prints its error and exits 64.
    static func load(_ file: String) throws -> (Scenario, String) {
        guard let data = FileManager.default.contents(atPath: file), let text = String(data: data, encoding: .utf8) else {
            printError("\(file):0:0: expected a readable scenario file")
            throw ExitCode(64)
        }
        do {
            return (try ScenarioParser.parse(text, file: file), text)
        } catch {
            printError(error.description)
            throw ExitCode(64)
        }
    }

    static func execute(_ scenario: Scenario, _ text: String, _ o: RunOptions) async throws -> RunReport {
        do {
            return try await ScenarioRunner.run(scenario, source: text, options: o)
        } catch {
            printError(error.description)
            throw ExitCode(64)
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
            if report.outcome != .pass { print("replay: uvm replay \(file) \(report.token)") }
        }
        if report.outcome.exitCode != 0 { throw ExitCode(report.outcome.exitCode) }
    }

    static func explore(_ file: String, _ o: RunOptions, runs: Int, seconds: Double?, firstSeed: UInt64, json: Bool) async throws -> Int32 {
        let (scenario, text) = try load(file)
        let start = Date()
        var tried = 0
        var seed = firstSeed
        while tried < runs {
            if let seconds, Date().timeIntervalSince(start) > seconds { break }
            var opts = o
            opts.seed = seed
            let report = try await execute(scenario, text, opts)
            tried += 1
            seed += 1
            if report.outcome != .pass {
                var traced = o
                traced.replay = ReplayToken.decode(report.token)
                traced.trace = true
                let again = try await execute(scenario, text, traced)
                if json {
                    printJSON(file, again, schedules: tried)
                } else {
                    print("\(file): \(again.outcome.summary) after \(tried) schedule(s) (seed \(seed - 1))")
                    if case .bug(let f) = again.outcome { for d in f.details { print("  " + d) } }
                    print("trace:")
                    for t in again.trace { print("  " + t) }
                    print("replay: uvm replay \(file) \(again.token)")
                }
                return again.outcome.exitCode
            }
        }
        let rate = Double(tried) / max(Date().timeIntervalSince(start), 1e-9)
        if json {
            print(#"{"file":\#(quote(file)),"outcome":"PASS","schedules":\#(tried)}"#)
        } else {
            print("\(file): PASS over \(tried) schedule(s) (\(Int(rate)) schedules/s)")
        }
        return 0
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
}
