// The progress line of a long command (explore, fuzz): rewritten in place on a terminal, a line
// each time in a log (with --progress), always on standard error.

import Foundation

struct ProgressLine: Sendable {
    let terminal = isatty(STDERR_FILENO) != 0

    /// Whether a command shows it: on a terminal, or in a log when asked, never with --json.
    func shown(json: Bool, asked: Bool) -> Bool { !json && (terminal || asked) }

    /// How far a job is through its limits on a count and on time (whichever is nearer its end),
    /// and the seconds left at the rate so far: "42%", "about 7 s left".
    static func share(count: Int, of limit: Int?, elapsed: Double, of seconds: Double?) -> (percent: Int, secondsLeft: Int) {
        let done = min(1, max(limit.map { Double(count) / Double(max($0, 1)) } ?? 0, seconds.map { elapsed / $0 } ?? 0))
        return (Int(done * 100), done > 0 ? Int((elapsed * (1 - done) / done).rounded()) : 0)
    }

    func show(_ text: String) {
        FileHandle.standardError.write(Data((terminal ? "\r\u{1B}[K" + text : text + "\n").utf8))
    }

    /// Erases the line before the command's result is printed.
    func clear() {
        if terminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}
