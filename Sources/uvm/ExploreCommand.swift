// `uvm explore`: many schedules of each file, then the first failure shrunk and printed.

import ArgumentParser
import Foundation
import UVMRunner
import UVMScenario

struct Explore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Many schedules; stops at the first BUG or FAIL.")
    @Argument(help: "Scenario files.") var files: [String]
    @Option(help: "portfolio (random, pct and preemption-bounded dfs taking turns), random, pct, or dfs.") var strategy: String = "portfolio"
    @Option(help: "Schedules to try per file.") var runs: Int = 1000
    @Option(help: "Seconds per file for the whole work: search, shrinking and report.") var time: Double?
    @Option(help: "Stop cleanly, with what was found, once the resident set passes this many MB.") var maxMemory: Int = 512
    @Option(help: "First seed.") var seed: UInt64 = 1
    @Option(help: "PCT depth d.") var depth: Int = 3
    @Option(help: "DFS preemption bound.") var preemptions: Int = 2
    @Flag(help: "Run every schedule twice and compare the runs step for step.") var selfCheck = false
    @Option(help: "Explore shard I of N (I/N): every N-th seed, so a campaign can run on many machines.") var shard: String?
    @Option(help: "Write each shrunk failing scenario into this directory, with the token that replays it there.") var save: String?
    @Flag(help: "Show every switch point in the failure's timeline.") var steps = false
    @Flag(help: "Print the progress line in a log too (it is shown in place on a terminal).") var progress = false
    @OptionGroup var common: Common

    func run() async throws {
        guard let s = ExploreStrategy(rawValue: strategy) else {
            throw ValidationError("--strategy must be one of \(ExploreStrategy.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard runs > 0, depth >= 1 else { throw ValidationError("--runs and --depth must be positive") }
        guard preemptions >= 0 else { throw ValidationError("--preemptions must not be negative") }
        try LimitOptions.check(time: time, maxMemory: maxMemory)
        var e = ExploreOptions()
        e.strategy = s
        e.runs = runs
        e.seconds = time
        e.firstSeed = seed
        e.depth = depth
        e.preemptions = preemptions
        e.selfCheck = selfCheck
        if let shard {
            let parts = shard.split(separator: "/").compactMap { Int($0) }
            guard parts.count == 2, parts[1] > 0, parts[0] >= 0, parts[0] < parts[1] else {
                throw ValidationError("--shard expects I/N with 0 <= I < N, found '\(shard)'")
            }
            e.shard = (parts[0], parts[1])
        }
        let progressLine = ProgressLine()
        let showProgress = progressLine.shown(json: common.json, asked: progress)
        // Every file is read and parsed before any is explored: a typo in the last file is
        // reported at once, not after the first files' minutes of search.
        for file in files { _ = try Driver.load(file) }
        var worst: Int32 = 0
        var documents: [[String: Any]] = []
        for file in files {
            e.limits = ResourceLimits(seconds: time, maxResidentMegabytes: maxMemory)
            if showProgress {
                // How far through its runs or its time the file is, the rate, and what is left.
                let (runs, time) = (runs, time)
                e.progress = { n, secs, distinct in
                    let (percent, left) = ProgressLine.share(count: n, of: runs, elapsed: secs, of: time)
                    progressLine.show("\(file): \(percent)% (\(n) schedules, \(Int(Double(n) / max(secs, 1e-9)))/s, \(distinct) distinct), about \(left) s left")
                }
            }
            let (code, document) = try await Driver.explore(file, try common.options(), e, save: save, steps: steps, json: common.json)
            worst = max(worst, code)
            if showProgress { progressLine.clear() }
            documents.append(document)
        }
        // One document for the whole command, however many files.
        if common.json { print(RunJSON.text(["files": documents, "exitCode": Int(worst)])) }
        if worst != 0 { throw ExitCode(worst) }
    }
}

extension Driver {
    /// Explores `file`; prints its result as text, or returns it as an object for the one JSON
    /// document of the whole command.
    static func explore(_ file: String, _ o: RunOptions, _ e: ExploreOptions, save: String?, steps: Bool,
                        json: Bool) async throws -> (code: Int32, json: [String: Any]) {
        let (scenario, text) = try load(file)
        let finding: ExploreFinding
        do {
            finding = try await Explorer.exploreAndShrink(scenario, source: text, base: o, e)
        } catch {
            throw scenarioError(error.description)
        }
        let result = finding.exploration
        let rate = Double(result.schedules) / max(result.seconds, 1e-9)
        var search: [String: Any] = ["schedules": result.schedules, "seconds": result.seconds, "rate": rate,
                                     "distinct": result.distinctTraces, "strategy": e.strategy.rawValue,
                                     "everySchedule": result.complete, "dfsExhausted": result.exhausted,
                                     "pctDepth": e.depth, "pctBound": result.pctBound(depth: e.depth),
                                     "preemptionBound": e.preemptions]
        if let reached = result.limitReached { search["limitReached"] = reached.description }
        let policy = o.policy.map { $0.value.isEmpty ? $0.knob : "\($0.knob)=\($0.value)" }
        if let divergence = result.divergence {
            if !json { print("\(file): REPLAY DIVERGED: \(divergence)") }
            return (2, ["file": file, "outcome": "REPLAY DIVERGED", "divergence": divergence, "exitCode": 2,
                        "search": search, "policy": policy])
        }
        guard let shrunk = finding.shrunk, let again = finding.traced else {
            if !json {
                // Time running out is how a search with --time ends, worth a line only when
                // not one run ended in it; the memory ceiling always is.
                if let reached = result.limitReached, reached != .time || result.schedules == 0 {
                    print("\(file): search stopped: \(reached.description)")
                }
                if e.strategy == .dfs {
                    print("\(file): PASS over \(result.schedules) schedule(s) (\(Int(rate)) schedules/s, \(result.distinctTraces) distinct, dfs, ≤ \(e.preemptions) preemptions): " + (result.complete ? "every schedule run" : result.exhausted ? "space exhausted" : "not exhausted"))
                } else {
                    print("\(file): PASS over \(result.schedules) schedule(s) (\(Int(rate)) schedules/s, \(result.distinctTraces) distinct, \(e.strategy.rawValue)" + (result.complete ? ", every schedule run" : result.exhausted ? ", dfs exhausted" : "") + "; PCT bound per schedule for depth \(e.depth): \(result.pctBound(depth: e.depth)))")
                }
            }
            return (0, ["file": file, "outcome": "PASS", "exitCode": 0, "search": search, "policy": policy])
        }
        var saved: (path: String, token: String)?
        if let save, !shrunk.droppedLines.isEmpty {
            saved = try await saveShrunk(file, keptLines(shrunk.scenario, text), choices: again.token, into: save, o)
        }
        if json {
            // The token must replay on the file named: the shrunk scenario's would not.
            var shrinking: [String: Any] = ["seconds": shrunk.seconds, "runs": shrunk.runs, "steps": again.steps,
                                            "droppedLines": shrunk.droppedLines, "kept": keptLines(shrunk.scenario, text)]
            if let depth = shrunk.depth { shrinking["depth"] = depth }
            if let cut = shrunk.cutShort { shrinking["cutShort"] = cut.description }
            if let saved { shrinking["savedAs"] = saved.path; shrinking["savedToken"] = saved.token }
            let document = RunJSON.object(file: file, report: shrunk.fullScenarioReport,
                                          replay: replayCommand(file, shrunk.fullScenarioReport, o),
                                          extra: ["search": search, "shrinking": shrinking, "policy": policy,
                                                  "schedules": result.schedules])
            return (again.outcome.exitCode, document)
        }
        print("\(file): \(again.outcome.summary) after \(result.schedules) schedule(s)")
        if case .bug(let f) = again.outcome { for d in f.details { print("  " + d) } }
        print(String(format: "shrunk in %.2f s (%d runs)", shrunk.seconds, shrunk.runs))
        if let cut = shrunk.cutShort { print("shrinking cut short (\(cut.description)): the smallest failure found so far") }
        print("depth: " + (shrunk.depth.map { "\($0) preemption(s)" } ?? "not measured"))
        print("steps: \(again.steps) in the shrunk schedule")
        if !shrunk.droppedLines.isEmpty {
            print("shrunk: lines \(shrunk.droppedLines.map(String.init).joined(separator: ", ")) are not needed; the scenario without them:")
            for line in keptLines(shrunk.scenario, text) { print("  " + line) }
        }
        if let timeline = again.timeline { print(timeline.render(steps: steps)) }
        print("replay: " + replayCommand(file, shrunk.fullScenarioReport, o))
        if let saved {
            print("the shrunk scenario, saved as \(saved.path): uvm replay \(saved.path) \(saved.token)" + replayWords(o))
        } else if !shrunk.droppedLines.isEmpty {
            print("(--save DIR writes the shrunk scenario with the token that replays it)")
        }
        return (again.outcome.exitCode, [:])
    }

    /// The source lines of a (reduced) scenario: setup lines and the operations it still has.
    static func keptLines(_ s: Scenario, _ text: String) -> [String] {
        let lines = sourceLines(text)
        var keep = Set<Int>()
        for st in s.statements {
            keep.insert(st.location.line)
            if case .together(let ops) = st.kind {
                for op in ops { keep.insert(op.location.line) }
                if let end = lines.indices.dropFirst(st.location.line).first(where: {
                    lines[$0].split(separator: "#").first?.trimmingCharacters(in: .whitespaces) == "end"
                }) { keep.insert(end + 1) }
            }
        }
        return keep.sorted().filter { $0 >= 1 && $0 <= lines.count }.map { lines[$0 - 1] }
    }

    /// Writes the shrunk scenario as DIR/NAME.shrunk.uvm and replays it there, so the token it
    /// prints carries that file's fingerprint (a token made for the whole file would be refused).
    static func saveShrunk(_ file: String, _ lines: [String], choices token: String, into dir: String,
                           _ o: RunOptions) async throws -> (String, String) {
        let name = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
        let path = (dir as NSString).appendingPathComponent(name + ".shrunk.uvm")
        let text = "# shrunk by uvm explore from \(file)\n" + lines.joined(separator: "\n") + "\n"
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        } catch {
            throw scenarioError("\(path): cannot write the shrunk scenario (\(error.localizedDescription))")
        }
        let (scenario, _) = try load(path)
        var again = o
        again.replay = ReplayToken.decode(token)
        return (path, try await execute(scenario, text, again).token)
    }
}
