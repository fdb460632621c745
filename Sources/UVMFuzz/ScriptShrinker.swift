// Shrinking a generated scenario that found a BUG, on its text: drop lines (a binding with every
// line that names it, so nothing is left unbound and no handle is left open), then whole threads
// of the `together` blocks, then declarations nobody needs, then arguments (the table's optional
// ones, lengths down to a page, offsets off addresses). A candidate is kept when the same BUG
// (same signature) shows on its replay of the last schedule or on a few fresh ones; a time
// budget bounds the whole, inside every candidate's runs as between them.

import UVMRunner
import UVMSched

@Sim
struct ScriptShrinker {
    var trial: Trial
    var budget: Duration
    /// Fresh schedules tried per candidate after the replay of the last failing one.
    var schedules = 6

    struct Result {
        var text: String
        var report: RunReport
    }

    /// The trial candidates run under: the campaign's limits, and the shrinking deadline
    /// inside each run too, not only between candidates, so that one candidate that runs long
    /// cannot keep the campaign past its reproducer's budget.
    func candidateTrial(until deadline: ContinuousClock.Instant) -> Trial {
        var bounded = trial
        bounded.limits = trial.limits.ending(by: deadline)
        return bounded
    }

    func shrink(_ text: String, failing: RunReport, signature: String, seed: UInt64) async -> Result {
        let clock = ContinuousClock()
        let deadline = clock.now + budget
        let bounded = candidateTrial(until: deadline)
        var best = Result(text: text, report: failing)
        var script = Script(text)
        // The campaign's limits or the budget stopped a candidate's run: the best so far is the
        // result.
        var stopped = false

        func attempt(_ candidate: Script) async -> Bool {
            guard !stopped, clock.now < deadline, candidate != script else { return false }
            let r = await bounded.explore(candidate.text, seed: seed, schedules: schedules,
                                        first: ReplayToken.decode(best.report.token), wanted: signature)
            stopped = r.stopped != nil
            guard let bug = r.bug else { return false }
            script = candidate
            best = Result(text: candidate.text, report: bug.report)
            return true
        }

        var progress = true
        while progress && clock.now < deadline {
            progress = false
            // Lines, last first: later lines depend on earlier ones, not the reverse.
            var i = script.lines.count - 1
            while i >= 0 {
                if i < script.lines.count, Self.droppableOperation(script, i), await attempt(script.removing(script.group(i))) {
                    progress = true
                }
                i -= 1
            }
            // Threads: every line an actor has in the blocks.
            let actors = Set(script.blocks.flatMap { b in b.compactMap { Script.actor(script.lines[$0]) } })
            for actor in actors.sorted() {
                let lines = Set(script.blocks.flatMap { $0 }.filter {
                    Script.actor(script.lines[$0]) == actor && !Script.releases(script.lines[$0])
                })
                if !lines.isEmpty, await attempt(script.removing(lines)) { progress = true }
            }
            // Declarations, with everything that names them.
            i = script.lines.count - 1
            while i >= 0 {
                if i < script.lines.count, Script.actor(script.lines[i]) == nil, Script.definedName(script.lines[i]) != nil,
                   await attempt(script.removing(script.group(i))) {
                    progress = true
                }
                i -= 1
            }
            // Arguments.
            for i in script.lines.indices {
                for simpler in Self.simplerArguments(script.lines[i]) {
                    var candidate = script
                    candidate.lines[i] = simpler
                    if await attempt(candidate) { progress = true; break }
                }
            }
        }
        return best
    }

    /// An operation line that may go on its own (with its group): not a release of a handle,
    /// which only goes with the line that took the handle.
    nonisolated static func droppableOperation(_ s: Script, _ i: Int) -> Bool {
        Script.actor(s.lines[i]) != nil && !Script.releases(s.lines[i])
    }

    /// The line with one argument simpler: an optional word of the table's form gone, a length
    /// of several pages down to one, an address without its offset.
    nonisolated static func simplerArguments(_ line: String) -> [String] {
        guard let form = Script.form(line), let spec = OperationTable.spec(form: form) else { return [] }
        let indent = String(line.prefix { $0 == " " })
        let words = line.dropFirst(indent.count).split(separator: " ").map(String.init)
        let optionalKeys = Set(spec.arguments.filter(\.optional).compactMap(\.key))
        let optionalFlags: Set<String> = spec.arguments.contains { $0.optional && $0.key == nil }
            ? ["shared", "private", "ro", "sync", "async", "invalidate", "r", "w", "rw"] : []
        var out: [String] = []
        // Past `ACTOR:`, `VAR =` and the keyword.
        let first = words.count > 2 && words[2] == "=" ? 4 : 2
        for (i, w) in words.enumerated() where i >= first {
            var simpler: String?
            if let key = w.split(separator: "=").first, w.contains("="), optionalKeys.contains(String(key)) {
                simpler = ""
            } else if optionalFlags.contains(w) {
                simpler = ""
            } else if w.hasSuffix("p"), let n = Int(w.dropLast()), n > 1 {
                simpler = "1p"
            } else if let plus = w.firstIndex(where: { $0 == "+" || $0 == "-" }), plus != w.startIndex,
                      Script.words(String(w[..<plus])).count == 1 {
                simpler = String(w[..<plus])
            }
            guard let simpler else { continue }
            var changed = words
            if simpler.isEmpty { changed.remove(at: i) } else { changed[i] = simpler }
            out.append(indent + changed.joined(separator: " "))
        }
        return out
    }
}
