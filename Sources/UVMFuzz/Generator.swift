// Random, well-formed scenario text from a seed (the same seed, the same text): a small machine,
// processes with threads, files (some with a bad disk block) and devices; a setup that maps,
// forks and takes vslock and loan handles; one or more `together` blocks of two to four threads
// (the kernel's page daemon among them) converging on one hot page, a loan now and then racing
// the rest; and a suffix that gives every
// handle back and reads memory through the reference model. Results are not asserted: the audit,
// the reference model and the leak check judge the run, so under `policy modern` a BUG is the
// kernel's.

public enum ScenarioGenerator {
    /// Percent of the arguments that can take one given an errno-probing value.
    public static let defaultProbePercent = 6

    /// The scenario for `seed`.
    public static func scenario(seed: UInt64, probePercent: Int = defaultProbePercent) -> String {
        var g = Generation(seed: seed, probePercent: probePercent)
        return g.generate()
    }
}

struct Generation {
    var writer: LineWriter
    var lines: [String] = []
    /// The page the last block converged on: the suffix reads it back, where a store the
    /// block's race lost shows (msync invalidation freeing a page a racing store dirtied).
    var raced: HotSpot?

    init(seed: UInt64, probePercent: Int) {
        writer = LineWriter(world: World(), choices: Choices(seed: seed), hot: nil, probePercent: probePercent)
    }

    var world: World {
        get { writer.world }
        set { writer.world = newValue }
    }

    var choices: Choices {
        get { writer.choices }
        set { writer.choices = newValue }
    }

    mutating func generate() -> String {
        machine()
        declarations()
        for p in world.procs { mappings(of: p.name) }
        if choices.percent(35), let parent = world.procs.first { fork(parent.name) }
        for p in world.procs where choices.percent(45) { take(loan: false, in: p.name) }
        for p in world.procs where choices.percent(25) { take(loan: true, in: p.name) }
        for _ in 0..<choices.below(4) {
            guard let t = randomThread() else { break }
            sequential(t)
        }
        let blocks = choices.count([50, 35, 15], from: 1)
        for _ in 0..<blocks { together() }
        suffix()
        return lines.joined(separator: "\n") + "\n"
    }

    // MARK: The machine and its parts

    private mutating func machine() {
        let ram = choices.pick([16, 24, 32, 32, 48, 64])
        world.ramPages = ram
        world.wiredMax = ram * 2 / 3
        var words = ["machine", "ram=\(ram)p"]
        if choices.percent(12) { words.append("pagesize=\(choices.pick(["1K", "8K", "16K"]))") }
        if choices.percent(55) { words.append("swap=\(choices.pick([4, 8, 16, 32]))p") }
        if choices.percent(40) {
            world.wiredMax = choices.within(ram / 3...ram)
            words.append("wiredmax=\(world.wiredMax)p")
        }
        // A shmseg of a few attachments puts sys_shmat's EMFILE within a generated scenario's
        // reach (NetBSD's default, 128, is not).
        if choices.percent(10) {
            let shmSeg = choices.within(1...3)
            world.shmSeg = shmSeg
            words.append("shmseg=\(shmSeg)")
        }
        lines.append(words.joined(separator: " "))
    }

    private mutating func declarations() {
        for _ in 0..<choices.count([65, 35], from: 1) {
            let name = world.fresh("f")
            let pages = choices.within(1...6)
            let bad = choices.percent(12) ? choices.below(pages) : nil
            world.files.append(FileState(name: name, pages: pages, badPage: bad))
            // A file of zeros is all holes: its bad page reads (as zeros, no I/O) and fails only
            // when written back — the write-back error paths need it.
            let fill = choices.percent(30) ? 0 : choices.below(256)
            lines.append("file \(name) size=\(pages)p fill=\(byteText(fill))" + (bad.map { " badpage=\($0)" } ?? ""))
        }
        for _ in 0..<choices.count([75, 25], from: 1) {
            let name = world.fresh("dev")
            world.devices.append(name)
            lines.append("device \(name) pattern=\(byteText(choices.below(256)))")
        }
        for _ in 0..<choices.count([25, 45, 30], from: 1) {
            let name = world.fresh("p")
            var words = ["proc", name]
            let isRoot = choices.percent(25)
            if isRoot { words.append("uid=0") }
            if choices.percent(25) { words.append("memlock=\(choices.within(1...8))p") }
            lines.append(words.joined(separator: " "))
            var p = ProcState(name: name, threads: [name], isRoot: isRoot)
            for i in 0..<choices.count([35, 45, 20]) {
                let thread = "\(name)t\(i + 1)"
                p.threads.append(thread)
                lines.append("thread \(thread) in \(name)")
            }
            world.procs.append(p)
        }
    }

    /// One to three mappings of `proc`, each certain to succeed, some touched.
    private mutating func mappings(of proc: String) {
        for _ in 0..<choices.within(1...3) {
            let variable = world.fresh("m")
            var kind = choices.weighted(["anon", "file", "segment", "device"]) { ["anon": 4, "file": 5, "segment": 2, "device": 1][$0]! }
            if kind == "segment" && !world.mayAttach(proc) { kind = "anon" }
            let readOnly = choices.percent(8)
            var region: Region
            var line: String
            switch kind {
            case "file":
                // The first file most often, so processes share its pages.
                let f = choices.percent(70) ? world.files[0] : choices.pick(world.files)
                let offset = choices.percent(60) ? 0 : choices.below(f.pages)
                let pages = choices.within(1...(f.pages - offset))
                region = Region(variable: variable, proc: proc, pages: pages, backing: .file(f.name), objectPage: offset,
                                writable: !readOnly, intact: true)
                line = "mmap file=\(f.name) \(pages)p" + (offset > 0 ? " off=\(offset)p" : "")
                    + " \(choices.percent(60) ? "shared" : "private")"
            case "segment":
                let (segment, pages) = self.segment(proc)
                region = Region(variable: variable, proc: proc, pages: pages, backing: .segment(segment), objectPage: 0,
                                writable: !readOnly, intact: true)
                line = "shmat \(segment)" + (readOnly ? " ro" : "")
            case "device":
                let pages = choices.within(1...2)
                region = Region(variable: variable, proc: proc, pages: pages, backing: .device(choices.pick(world.devices)),
                                objectPage: 0, writable: true, intact: true)
                guard case .device(let d) = region.backing else { continue }
                line = "mmap device=\(d) \(pages)p"
            default:
                let pages = choices.within(1...4)
                region = Region(variable: variable, proc: proc, pages: pages, backing: .anon(variable), objectPage: 0,
                                writable: !readOnly, intact: true)
                line = "mmap anon \(pages)p" + (choices.percent(30) ? " shared" : "")
            }
            if readOnly && kind != "segment" { line += " prot=r" }
            world.regions.append(region)
            lines.append("\(proc): \(variable) = \(line)")
            if region.writable && choices.percent(50) {
                lines.append("\(proc): fill \(variable) \(region.pages)p \(byteText(choices.below(256)))")
            }
        }
    }

    /// A segment to attach: an existing one, or a new one `proc` makes. Sizes are kept beside
    /// the regions that attach them.
    private mutating func segment(_ proc: String) -> (String, Int) {
        if let existing = world.regions.first(where: { if case .segment = $0.backing { true } else { false } }), choices.percent(70),
           case .segment(let s) = existing.backing {
            return (s, existing.pages)
        }
        let name = world.fresh("s")
        // A database's pattern: root makes a segment as big as the wired limit and locks it at
        // once, before anything else is wired, so the segment alone meets the limit's edge.
        let lockAtOnce = world.wiredBound == 0 && world.procs.first(where: { $0.name == proc })?.isRoot == true && choices.percent(30)
        let pages = lockAtOnce || choices.percent(12) ? choices.pages(near: world.wiredMax) : choices.within(1...3)
        world.segments.append(name)
        lines.append("\(proc): \(name) = shmget size=\(pages)p")
        if lockAtOnce {
            lines.append("\(proc): shmctl \(name) lock")
            world.wiredBound += pages
        }
        return (name, pages)
    }

    private mutating func fork(_ parent: String) {
        let child = world.fresh("c")
        lines.append("\(parent): \(child) = fork")
        world.procs.append(ProcState(name: child, threads: [child]))
        world.regions += world.regions(of: parent).map { var r = $0; r.proc = child; return r }
    }

    /// A vslock or loan handle bound by one of `proc`'s threads, where it certainly succeeds.
    private mutating func take(loan: Bool, in proc: String) {
        guard let p = world.procs.first(where: { $0.name == proc }), p.alive,
              let spec = OperationTable.spec(form: loan ? "loan" : "vslock") else { return }
        let thread = choices.pick(p.threads)
        let variable = world.fresh(loan ? "l" : "h")
        let largest = world.regions(of: proc).map(\.pages).max() ?? 0
        // Wiring counts against wiredmax; keep well below it so the vslock is certain.
        if !loan && world.wiredBound + largest > world.wiredMax - 2 { return }
        writer.hot = loan ? hotSpot() : nil
        defer { writer.hot = nil }
        guard let line = writer.line(spec, actor: thread, binding: variable) else { return }
        if !loan { world.wiredBound += largest }
        world.handles.append(Handle(variable: variable, isLoan: loan, proc: proc, thread: thread, hot: writer.hot))
        lines.append(line)
    }

    // MARK: Operations

    private mutating func randomThread() -> String? {
        let threads = world.liveProcs.flatMap(\.threads)
        return threads.isEmpty ? nil : choices.pick(threads)
    }

    /// The forms `actor` may run now: not handle-taking or giving back (the generator places
    /// those itself), and nothing that unmaps in a process holding a vslock.
    /// In the setup, no exit: a process ends while others race it, in a block.
    private func candidates(for actor: String, racing: Bool) -> [OperationSpec] {
        let proc = world.proc(owning: actor)
        let holds = proc.map { world.holdsVslock($0.name) } ?? false
        return OperationTable.operations.filter { spec in
            guard spec.kernelOnly == (actor == "kernel") else { return false }
            if spec.releases != nil || spec.produces == .vslockHandle || spec.produces == .loanHandle { return false }
            if (holds || !racing) && spec.effect == .endsProcess { return false }
            if holds && spec.effect != .none { return false }
            return true
        }
    }

    /// A random line for `actor`, of one of `among` if given, or nil if no form fits after a
    /// few tries.
    mutating func randomLine(_ actor: String, racing: Bool, among: Set<String>? = nil) -> (String, OperationSpec)? {
        var forms = candidates(for: actor, racing: racing)
        if let among { forms = forms.filter { among.contains($0.form) } }
        guard !forms.isEmpty else { return nil }
        for _ in 0..<6 {
            let spec = choices.weighted(forms, \.weight)
            let binding = spec.produces == .process ? world.fresh("c") : nil
            if let line = writer.line(spec, actor: actor, binding: binding) { return (line, spec) }
        }
        return nil
    }

    /// What a line did to the world, once it has run (for a block: after the block).
    private mutating func apply(_ spec: OperationSpec, by actor: String) {
        guard let proc = world.proc(owning: actor)?.name else { return }
        switch spec.effect {
        case .none: break
        case .unmaps:
            for i in world.regions.indices where world.regions[i].proc == proc { world.regions[i].intact = false }
        case .replacesSpace:
            world.regions.removeAll { $0.proc == proc }
        case .endsProcess:
            if let i = world.procs.firstIndex(where: { $0.name == proc }) { world.procs[i].alive = false }
        }
    }

    private mutating func sequential(_ actor: String) {
        guard let (line, spec) = randomLine(actor, racing: false) else { return }
        lines.append(line)
        apply(spec, by: actor)
    }

    /// A page of a backing object at least one live process maps, twice as likely when two do.
    private mutating func hotSpot() -> HotSpot? {
        let live = Set(world.liveProcs.map(\.name))
        let mapped = world.regions.filter { live.contains($0.proc) }
        guard !mapped.isEmpty else { return nil }
        let shared = mapped.filter { r in mapped.contains { $0.backing == r.backing && $0.proc != r.proc } }
        let r = !shared.isEmpty && choices.percent(66) ? choices.pick(shared) : choices.pick(mapped)
        return HotSpot(backing: r.backing, page: r.objectPage + choices.below(r.pages))
    }

    private mutating func together() {
        var threads = world.liveProcs.flatMap(\.threads)
        choices.shuffle(&threads)
        var actors = Array(threads.prefix(choices.within(2...4)))
        if actors.count < 2 || (actors.count < 4 && choices.percent(35)) { actors.append("kernel") }
        guard actors.count >= 2 else { return }
        var queues: [[String]] = []
        var effects: [(OperationSpec, String)] = []
        // The handles this block gives back, chosen first: no other line of the block may use
        // them, since a DMA racing the vsunlock of its own buffer is the driver's bug, not the
        // kernel's.
        let released = world.handles.filter { $0.open && actors.contains($0.thread) && choices.percent(30) }
        for i in world.handles.indices where released.contains(where: { $0.variable == world.handles[i].variable }) {
            world.handles[i].givenBack = true
        }
        // A loan given back here makes the page it lent the block's hot page: its end races
        // the wirings, stores and loan breaks of that page (catalog W5's order).
        writer.hot = released.lazy.compactMap(\.hot).first ?? hotSpot()
        // Now and then a thread lends pages of the hot mapping while the others work on them
        // (a socket send racing a ptrace write, a store, a wiring): given back in the suffix.
        let lender = choices.percent(20) ? actors.filter { $0 != "kernel" }.first : nil
        var lent: Handle?
        let loanEnds = released.contains(where: \.isLoan)
        for actor in actors {
            var queue: [String] = []
            // While a loan ends here, the other threads' first line often touches the lent page
            // the ways a loan must survive or break: a wiring (a DMA's read-only one included),
            // a store, a debugger's write (catalog W5's order).
            let touchesTheLoan = loanEnds && actor != "kernel" && !released.contains { $0.isLoan && $0.thread == actor }
                && choices.percent(50)
            for n in 0..<(actor == "kernel" ? choices.within(1...2) : choices.within(1...3)) {
                let among: Set<String>? = touchesTheLoan && n == 0 ? Self.formsTouchingALoan : nil
                guard let (line, spec) = randomLine(actor, racing: true, among: among) else { continue }
                queue.append(line)
                effects.append((spec, actor))
            }
            if actor == lender, let proc = world.proc(owning: actor), let spec = OperationTable.spec(form: "loan") {
                let variable = world.fresh("l")
                if let line = writer.line(spec, actor: actor, binding: variable) {
                    queue.insert(line, at: choices.below(queue.count + 1))
                    lent = Handle(variable: variable, isLoan: true, proc: proc.name, thread: actor, hot: writer.hot)
                }
            }
            for h in released where h.thread == actor { queue.append("\(actor): \(h.isLoan ? "unloan" : "vsunlock") \(h.variable)") }
            if !queue.isEmpty { queues.append(queue) }
        }
        guard !queues.isEmpty else { return }
        lines.append("together")
        // Interleave the threads' lines as a reader would write them; each keeps its order.
        while !queues.isEmpty {
            let i = choices.below(queues.count)
            lines.append("  " + queues[i].removeFirst())
            if queues[i].isEmpty { queues.remove(at: i) }
        }
        lines.append("end")
        for i in world.handles.indices where world.handles[i].givenBack { world.handles[i].open = false }
        if let lent { world.handles.append(lent) }
        for (spec, actor) in effects { apply(spec, by: actor) }
        raced = writer.hot
        writer.hot = nil
    }

    /// What a thread racing the end of a loan does to the lent page.
    private static let formsTouchingALoan: Set<String> = ["physio", "store", "fill", "mlock", "sysctl", "ptrace write"]

    /// Every handle given back by the thread that took it, then a few reads and clean-ups.
    private mutating func suffix() {
        var open = world.handles.filter(\.open)
        choices.shuffle(&open)
        for h in open { lines.append("\(h.thread): \(h.isLoan ? "unloan" : "vsunlock") \(h.variable)") }
        for i in world.handles.indices { world.handles[i].open = false }
        for _ in 0..<choices.within(0...3) {
            switch choices.below(5) {
            case 0:
                if let p = world.liveProcs.randomElement(using: &choices) { lines.append("\(p.name): munlockall") }
            case 1:
                if let s = world.segments.randomElement(using: &choices), let p = world.liveProcs.first {
                    lines.append("\(p.name): shmctl \(s) rmid")
                }
            case 2:
                lines.append("kernel: pagedaemon")
            default:
                guard let t = randomThread(), let spec = OperationTable.spec(form: choices.pick(["load", "check", "mincore"])) else { continue }
                writer.hot = raced
                defer { writer.hot = nil }
                guard let line = writer.line(spec, actor: t) else { continue }
                lines.append(line)
            }
        }
    }
}

extension Array {
    func randomElement(using choices: inout Choices) -> Element? { isEmpty ? nil : self[choices.below(count)] }
}
