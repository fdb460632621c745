// The schedule of a run as per-thread columns, as lockdep prints a scenario (CPU0 | CPU1) and
// lincheck its trace: each scenario line with its result in the column of the thread that ran
// it, where each thread slept and on what, where the scheduler preempted one for another, and
// the failure at the bottom. Lock steps are folded unless asked for.

import UVMSched

public struct Timeline: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// A scenario line starts (line 0: the final exits of every process).
        case begin(line: Int, text: String)
        /// It returned `result`; `failed` when that is not what the line expected.
        case end(line: Int, result: String, failed: Bool)
        /// A switch point: why the thread reached it (folded at operation level).
        case step(reason: String, note: String)
        /// The thread went to sleep on `on`, which `heldBy` could release.
        case blocked(on: String, heldBy: [String])
        /// The scheduler ran `by` while this thread could have gone on.
        case preempted(by: String)
        /// A thread that slept runs again.
        case resumed
        /// The BUG was recorded while this thread ran.
        case failed(kind: String)
    }

    public struct Event: Sendable, Equatable {
        public var step: Int
        public var thread: Int
        public var kind: Kind
    }

    /// Thread names by id.
    public var threads: [String]
    public var events: [Event]
    public var outcome: Outcome

    /// A scenario line's text without its actor ("A: truncate db 0" is "truncate db 0" in A's column).
    static func withoutActor(_ text: String) -> String {
        guard let colon = text.firstIndex(of: ":"), !text[..<colon].contains(" ") else { return text }
        return String(text[text.index(after: colon)...].drop { $0 == " " })
    }

    static func words(_ reason: SwitchReason) -> String {
        switch reason {
        case .start: "start"
        case .preempt: "before line"
        case .lockAcquire: "acquire"
        case .lockRelease: "release"
        case .busyWait: "wait for"
        case .sleep: "sleep on"
        case .wakeup: "wake up"
        case .io: "I/O"
        case .finish: "finish"
        }
    }

    /// One row of the table: a step and the text in one thread's column.
    public struct Row: Sendable, Equatable {
        public var step: Int
        public var thread: Int
        public var text: String
        /// A line's start, to which its result is added when nothing comes between.
        var startsLine = false
    }

    /// The rows shown: at operation level a line and its result share a row when nothing of
    /// another thread comes between them, and switch points are left out; `steps` shows every one.
    public func rows(steps: Bool) -> [Row] {
        var rows: [Row] = []
        for e in events {
            switch e.kind {
            case .begin(let line, let text):
                rows.append(Row(step: e.step, thread: e.thread, text: line == 0 ? text : "\(line): \(Self.withoutActor(text))", startsLine: true))
            case .end(_, let result, let failed):
                let text = "-> \(result)" + (failed ? "   (not what the line expects)" : "")
                if !steps, let last = rows.last, last.thread == e.thread, last.startsLine {
                    rows[rows.count - 1].text += " " + text
                    rows[rows.count - 1].startsLine = false
                } else {
                    rows.append(Row(step: e.step, thread: e.thread, text: "   " + text))
                }
            case .step(let reason, let note):
                if steps { rows.append(Row(step: e.step, thread: e.thread, text: "   . \(reason)" + (note.isEmpty ? "" : " \(note)"))) }
            case .blocked(let on, let heldBy):
                rows.append(Row(step: e.step, thread: e.thread, text: "   sleeps on \(on)" + (heldBy.isEmpty ? "" : " (held by \(heldBy.joined(separator: ", ")))")))
            case .preempted(let by):
                rows.append(Row(step: e.step, thread: e.thread, text: "   >> preempted, \(by) runs"))
            case .resumed:
                rows.append(Row(step: e.step, thread: e.thread, text: "   runs again"))
            case .failed(let kind):
                rows.append(Row(step: e.step, thread: e.thread, text: "   ** BUG \(kind) here"))
            }
        }
        return rows
    }

    /// The table, then the outcome and its explanation.
    public func render(steps: Bool = false, width: Int = 52) -> String {
        let rows = rows(steps: steps)
        let columns = threads.indices.filter { t in rows.contains { $0.thread == t } }
        func fit(_ s: String, _ n: Int) -> String {
            let s = s.count > n ? String(s.prefix(n - 1)) + "…" : s
            return s + String(repeating: " ", count: n - s.count)
        }
        let widths = columns.map { t in min(width, max(threads[t].count, rows.filter { $0.thread == t }.map(\.text.count).max() ?? 0)) }
        let stepWidth = max(4, String(rows.last?.step ?? 0).count)
        func line(_ step: String, _ cells: [String]) -> String {
            (String(repeating: " ", count: stepWidth - step.count) + step + "  " + zip(cells, widths).map { fit($0, $1) }.joined(separator: " | "))
                .trailingSpacesTrimmed
        }
        var out = ["timeline (" + (steps ? "every step" : "operation level; --steps shows every switch point") + "):",
                   line("step", columns.map { threads[$0] }),
                   line("", widths.map { String(repeating: "-", count: $0) })]
        for r in rows {
            out.append(line("\(r.step)", columns.map { $0 == r.thread ? r.text : "" }))
        }
        out.append(line("", widths.map { String(repeating: "-", count: $0) }))
        out.append(outcome.summary)
        if case .bug(let f) = outcome { out += f.details.map { "  " + $0 } }
        return out.joined(separator: "\n")
    }

    /// The schedule in Chrome's trace-event format (opens in Perfetto and chrome://tracing): one
    /// track per thread, each scenario line a slice from its first to its last step (a step is
    /// shown as a microsecond), sleeps and preemptions as instant events.
    public func chromeTrace() -> String {
        var out: [String] = threads.enumerated().map { id, name in
            #"{"ph":"M","name":"thread_name","pid":1,"tid":\#(id),"args":{"name":\#(jsonString(name))}}"#
        }
        var open: [Int: (step: Int, name: String)] = [:]
        for e in events {
            switch e.kind {
            case .begin(let line, let text):
                open[e.thread] = (e.step, line == 0 ? text : "\(line): \(Self.withoutActor(text))")
            case .end(_, let result, let failed):
                guard let b = open.removeValue(forKey: e.thread) else { continue }
                out.append(#"{"ph":"X","name":\#(jsonString(b.name)),"pid":1,"tid":\#(e.thread),"ts":\#(b.step),"dur":\#(max(1, e.step - b.step)),"args":{"result":\#(jsonString(result)),"failed":\#(failed)}}"#)
            case .blocked(let on, let heldBy):
                out.append(#"{"ph":"i","s":"t","name":\#(jsonString("sleeps on " + on)),"pid":1,"tid":\#(e.thread),"ts":\#(e.step),"args":{"heldBy":\#(jsonString(heldBy.joined(separator: ", ")))}}"#)
            case .preempted(let by):
                out.append(#"{"ph":"i","s":"t","name":\#(jsonString("preempted, " + by + " runs")),"pid":1,"tid":\#(e.thread),"ts":\#(e.step)}"#)
            case .failed(let kind):
                out.append(#"{"ph":"i","s":"t","name":\#(jsonString("BUG " + kind)),"pid":1,"tid":\#(e.thread),"ts":\#(e.step)}"#)
            case .step, .resumed:
                continue
            }
        }
        // A line cut short by the failure ends where the run stopped.
        let last = events.last?.step ?? 0
        for (thread, b) in open.sorted(by: { $0.key < $1.key }) {
            out.append(#"{"ph":"X","name":\#(jsonString(b.name)),"pid":1,"tid":\#(thread),"ts":\#(b.step),"dur":\#(max(1, last - b.step)),"args":{"result":"(did not return)"}}"#)
        }
        out.append(#"{"ph":"i","s":"g","name":\#(jsonString(outcome.summary)),"pid":1,"tid":0,"ts":\#(last)}"#)
        return "{\"traceEvents\":[\n" + out.joined(separator: ",\n") + "\n],\"displayTimeUnit\":\"ns\"}\n"
    }
}

/// `s` as a JSON string literal.
public func jsonString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        default:
            if u.value < 0x20 {
                let h = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
            } else {
                out.unicodeScalars.append(u)
            }
        }
    }
    return out + "\""
}
