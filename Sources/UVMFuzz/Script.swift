// A scenario as lines of text, for the mutator and the shrinker: which names a line defines and
// mentions, which form it is, and which lines must go together (a binding and every line that
// names it; a vslock and its vsunlock), so that an edit keeps the scenario well formed.

struct Script: Equatable {
    var lines: [String]

    init(_ text: String) {
        lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        while lines.last == "" { lines.removeLast() }
    }

    var text: String { lines.joined(separator: "\n") + "\n" }

    /// The words of a line, without its comment: names, numbers and keywords.
    static func words(_ line: String) -> [Substring] {
        let code = line.prefix { $0 != "#" }
        return code.split { !($0.isLetter || $0.isNumber || $0 == "_" || $0 == ".") }
    }

    static func trimmed(_ line: String) -> Substring {
        let code = line.prefix { $0 != "#" }
        return code.drop { $0 == " " || $0 == "\t" }
    }

    /// `A` in `A: x = mmap ...`; nil for statements.
    static func actor(_ line: String) -> String? {
        let t = trimmed(line)
        guard let colon = t.firstIndex(of: ":") else { return nil }
        let name = t[..<colon]
        return !name.isEmpty && name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." }) ? String(name) : nil
    }

    /// What follows `ACTOR:` and `VAR =`.
    static func operation(_ line: String) -> Substring? {
        let t = trimmed(line)
        guard actor(line) != nil, let colon = t.firstIndex(of: ":") else { return nil }
        let rest = t[t.index(after: colon)...].drop { $0 == " " }
        let parts = rest.split(separator: " ", maxSplits: 2)
        return parts.count == 3 && parts[1] == "=" ? parts[2] : rest
    }

    /// The table's form of an operation line: `mmap file`, `dma read`, `vsunlock`.
    static func form(_ line: String) -> String? {
        guard let op = operation(line) else { return nil }
        let w = op.split(separator: " ")
        guard let keyword = w.first.map(String.init) else { return nil }
        switch keyword {
        case "mmap": return w.count > 1 ? "mmap " + (w[1].split(separator: "=").first.map(String.init) ?? "") : nil
        case "dma", "ptrace": return w.count > 2 ? "\(keyword) \(w[2])" : nil
        default: return keyword
        }
    }

    /// The name a line makes: a process, thread, file or device it declares, or its `VAR =`.
    static func definedName(_ line: String) -> String? {
        let w = words(line)
        guard let first = w.first else { return nil }
        if ["proc", "thread", "file", "device"].contains(first), w.count > 1 { return String(w[1]) }
        let t = trimmed(line)
        guard actor(line) != nil, let colon = t.firstIndex(of: ":") else { return nil }
        let parts = t[t.index(after: colon)...].split(separator: " ", maxSplits: 2)
        return parts.count == 3 && parts[1] == "=" ? String(parts[0]) : nil
    }

    func isStructural(_ i: Int) -> Bool {
        let t = Self.trimmed(lines[i])
        return t.isEmpty || t.hasPrefix("machine") || t.hasPrefix("policy") || t == "together" || t == "end"
            || t.hasPrefix("together ") || t.hasPrefix("end ")
    }

    /// Lines that give a handle back: never dropped alone (the handle would leak, or its
    /// process could not unmap), only with the line that took it.
    static func releases(_ line: String) -> Bool {
        guard let f = form(line), let spec = OperationTable.spec(form: f) else { return false }
        return spec.releases != nil
    }

    /// `i` and every line that names what `i` (or another line of the group) defines.
    func group(_ i: Int) -> Set<Int> {
        var group: Set<Int> = [i]
        var names: [String] = Self.definedName(lines[i]).map { [$0] } ?? []
        while let name = names.popLast() {
            for (j, line) in lines.enumerated() where !group.contains(j) && !isStructural(j) {
                if Self.words(line).contains(where: { $0 == name }) {
                    group.insert(j)
                    if let n = Self.definedName(line) { names.append(n) }
                }
            }
        }
        return group
    }

    /// The script without those lines, `together` blocks left empty removed too.
    func removing(_ drop: Set<Int>) -> Script {
        var out: [String] = []
        var blockStart: Int?
        for (i, line) in lines.enumerated() where !drop.contains(i) {
            let t = Self.trimmed(line)
            if t == "together" { blockStart = out.count }
            if t == "end", let start = blockStart, start == out.count - 1 {
                out.removeLast()
                blockStart = nil
                continue
            }
            if t == "end" { blockStart = nil }
            out.append(line)
        }
        var s = self
        s.lines = out
        return s
    }

    /// Indices of operation lines inside `together` blocks, with their block's bounds.
    var blocks: [ClosedRange<Int>] {
        var out: [ClosedRange<Int>] = []
        var start: Int?
        for (i, line) in lines.enumerated() {
            let t = Self.trimmed(line)
            if t == "together" { start = i }
            if t == "end", let s = start { out.append(s...i); start = nil }
        }
        return out
    }

    /// Where the lines after the declarations begin: the first operation or block.
    var firstOperation: Int {
        lines.indices.first { Self.actor(lines[$0]) != nil || Self.trimmed(lines[$0]) == "together" } ?? lines.count
    }
}
