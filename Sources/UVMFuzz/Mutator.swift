// Mutating a corpus scenario: insert a line, delete one, swap two, rewrite one's arguments, move
// one to another thread of its block, or splice in a block of another scenario. Only lines
// that bind nothing, give nothing back, unmap nothing and name no handle are added, moved or
// deleted, so the scenario keeps the project's rules (handles given back, no thread unmapping
// its own vslock, no DMA racing the vsunlock of its buffer).

import UVMScenario

struct Mutator {
    var choices: Choices
    var probePercent = ScenarioGenerator.defaultProbePercent

    /// `text` with one to three mutations; `other` is the scenario a splice takes a block from.
    mutating func mutate(_ text: String, other: String) -> String {
        var script = Script(text)
        guard let scenario = try? ScenarioParser.parse(text, file: "corpus.uvm") else { return text }
        let world = World(scenario: scenario)
        for _ in 0..<choices.within(1...3) {
            switch choices.below(6) {
            case 0: insert(&script, world)
            case 1: delete(&script)
            case 2: swap(&script)
            case 3: rewrite(&script, world)
            case 4: move(&script)
            default: splice(&script, from: Script(other), world)
            }
        }
        return script.text
    }

    /// Lines that may be moved, deleted or rewritten: operations of the table with no binding,
    /// no release, no effect on the address space and no handle.
    private static func isPlain(_ line: String) -> Bool {
        guard Script.definedName(line) == nil, let form = Script.form(line), let spec = OperationTable.spec(form: form) else { return false }
        return isPlain(spec)
    }

    private static func isPlain(_ spec: OperationSpec) -> Bool {
        spec.releases == nil && spec.produces == nil && spec.effect == .none
            && !spec.needs.contains(.vslockHandle) && !spec.needs.contains(.loanHandle)
    }

    private mutating func plainLines(_ s: Script) -> [Int] { s.lines.indices.filter { Self.isPlain(s.lines[$0]) } }

    private mutating func newLine(_ world: World, actor: String) -> String? {
        var writer = LineWriter(world: world, choices: choices, hot: nil, probePercent: probePercent)
        let forms = OperationTable.operations.filter { $0.kernelOnly == (actor == "kernel") && Self.isPlain($0) }
        defer { choices = writer.choices }
        for _ in 0..<4 {
            if let line = writer.line(writer.choices.weighted(forms, \.weight), actor: actor) { return line }
        }
        return nil
    }

    private mutating func insert(_ s: inout Script, _ world: World) {
        let threads = world.procs.flatMap(\.threads) + ["kernel"]
        let at = choices.within(s.firstOperation...s.lines.count)
        // Inside a block, one of the block's own threads most often.
        let block = s.blocks.first { $0.contains(at) && $0.lowerBound != at }
        let inBlock = block.map { b in b.compactMap { Script.actor(s.lines[$0]) } } ?? []
        let actor = !inBlock.isEmpty && choices.percent(70) ? choices.pick(inBlock) : choices.pick(threads)
        guard let line = newLine(world, actor: actor) else { return }
        s.lines.insert((block == nil ? "" : "  ") + line, at: at)
    }

    private mutating func delete(_ s: inout Script) {
        let plain = plainLines(s)
        guard !plain.isEmpty else { return }
        s = s.removing([choices.pick(plain)])
    }

    private mutating func swap(_ s: inout Script) {
        let pairs = plainLines(s).filter { $0 + 1 < s.lines.count && Self.isPlain(s.lines[$0 + 1]) }
        guard !pairs.isEmpty else { return }
        let i = choices.pick(pairs)
        s.lines.swapAt(i, i + 1)
    }

    private mutating func rewrite(_ s: inout Script, _ world: World) {
        let plain = plainLines(s)
        guard !plain.isEmpty else { return }
        let i = choices.pick(plain)
        guard let actor = Script.actor(s.lines[i]), let form = Script.form(s.lines[i]),
              let spec = OperationTable.spec(form: form) else { return }
        var writer = LineWriter(world: world, choices: choices, hot: nil, probePercent: probePercent)
        if let line = writer.line(spec, actor: actor) {
            s.lines[i] = String(s.lines[i].prefix { $0 == " " }) + line
        }
        choices = writer.choices
    }

    /// A plain line of a block given to another thread of that block.
    private mutating func move(_ s: inout Script) {
        let candidates = s.blocks.flatMap { b in b.filter { Self.isPlain(s.lines[$0]) && Script.actor(s.lines[$0]) != "kernel" }.map { ($0, b) } }
        guard !candidates.isEmpty else { return }
        let (i, block) = choices.pick(candidates)
        let others = Set(block.compactMap { Script.actor(s.lines[$0]) }).subtracting(["kernel", Script.actor(s.lines[i]) ?? ""])
        guard let to = others.sorted().randomElement(using: &choices), let colon = s.lines[i].firstIndex(of: ":") else { return }
        s.lines[i] = String(s.lines[i].prefix { $0 == " " }) + to + s.lines[i][colon...]
    }

    /// The plain lines of one of `other`'s blocks whose names all exist here, as a new block
    /// after this scenario's last one.
    private mutating func splice(_ s: inout Script, from other: Script, _ world: World) {
        guard let block = other.blocks.randomElement(using: &choices) else { return }
        var known = Set(world.procs.flatMap(\.threads) + world.regions.map(\.variable) + world.files.map(\.name)
                        + world.devices + world.segments + world.handles.map(\.variable) + world.procs.map(\.name))
        known.insert("kernel")
        let lines = block.map { other.lines[$0] }.filter { line in
            guard Self.isPlain(line), let actor = Script.actor(line), known.contains(actor) else { return false }
            // Every name the line uses must exist here; keywords and numbers are not names.
            return Script.words(line).dropFirst().allSatisfy { w in
                known.contains(String(w)) || !(w.first?.isLetter ?? false) || OperationTable.vocabulary.contains(String(w))
            }
        }
        guard lines.count >= 2 else { return }
        let at = s.blocks.last.map { $0.upperBound + 1 } ?? s.lines.count
        s.lines.insert(contentsOf: ["together"] + lines + ["end"], at: at)
    }
}

extension OperationTable {
    /// Every word a line may contain that is not a name: keywords, option keys and values.
    static let vocabulary: Set<String> = {
        var words = Set(keywords)
        words.formUnion(["anon", "file", "device", "prot", "maxprot", "fixed", "off", "shared", "private", "size", "ro", "r", "w", "rw",
                         "rx", "rwx", "x", "wx", "none", "share", "copy", "dontneed", "willneed", "free", "sync", "async", "invalidate",
                         "lock", "unlock", "rmid", "read", "write", "current", "future", "from", "to", "len", "pages", "p", "K", "M", "G"])
        return words
    }()
}
