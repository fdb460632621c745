// Writes one operation line from the table: each argument drawn from what the world has made,
// biased toward overlap (the hot page every thread of a block is steered to, the same file from
// two processes, ranges one page past either end of a mapping) and now and then a value chosen
// to probe an errno.

/// The page a `together` block converges on: one page of one backing object.
struct HotSpot {
    var backing: Backing
    var page: Int
}

struct LineWriter {
    var world: World
    var choices: Choices
    var hot: HotSpot?
    /// Percent of errno-probing values among the arguments that take them.
    var probePercent = ScenarioGenerator.defaultProbePercent

    /// `ACTOR: [VAR =] KEYWORD ARGS`, or nil when the world lacks what the form needs (or the
    /// line would bind a handle that might not be made: a mapping it covers is not intact).
    mutating func line(_ spec: OperationSpec, actor: String, binding: String? = nil) -> String? {
        let procName = world.proc(owning: actor)?.name
        // One mapping per line: ranges and addresses of one line all fall in it (ptrace: the
        // target's).
        var target: Region?
        var targetProc = procName
        var words = [spec.keyword]
        // A line that binds must succeed: no probes, ranges inside their mapping.
        let certain = binding != nil
        for piece in spec.pieces {
            switch piece {
            case .word(let w):
                words.append(w)
            case .argument(let kind, let key, let optional):
                if optional && (choices.percent(55) || certain && kind.canFailTheCall) { continue }
                if kind == .process {
                    var others = world.liveProcs.filter { $0.name != procName }
                    // A debugger aims at a process that maps the block's hot page, so its
                    // access races what the others do there (a loan of it: a socket send).
                    if let hot, choices.percent(65) {
                        let mapping = others.filter { p in world.regions(of: p.name).contains { $0.backing == hot.backing } }
                        if !mapping.isEmpty { others = mapping }
                    }
                    guard let p = others.isEmpty ? world.liveProcs.first : choices.pick(others) else { return nil }
                    targetProc = p.name
                    words.append(p.name)
                    continue
                }
                if [.range, .address, .fixedAddress].contains(kind) && target == nil {
                    guard let p = targetProc, let r = region(of: p, forHandle: binding != nil && spec.produces != .mapping) else {
                        return nil
                    }
                    target = r
                }
                guard let value = value(kind, in: target, certain: certain, actorProc: procName) else { return nil }
                words.append(key.map { "\($0)=\(value)" } ?? value)
            }
        }
        return "\(actor): " + (binding.map { "\($0) = " } ?? "") + words.joined(separator: " ")
    }

    /// A mapping of `proc`, the hot spot's first; one a handle may be bound over must be intact,
    /// writable and backed by memory that can be wired and lent (no device, no bad disk block).
    private mutating func region(of proc: String, forHandle: Bool) -> Region? {
        var candidates = world.regions(of: proc)
        if forHandle {
            candidates = candidates.filter { r in
                guard r.intact, r.writable else { return false }
                switch r.backing {
                case .device: return false
                case .file(let f): return world.files.first { $0.name == f }?.badPage == nil
                default: return true
                }
            }
        }
        guard !candidates.isEmpty else { return nil }
        if let hot, choices.percent(65) {
            let onHot = candidates.filter { $0.backing == hot.backing }
            if !onHot.isEmpty { return choices.pick(onHot) }
        }
        return choices.pick(candidates)
    }

    /// The page of `r` the line aims at: the hot page where `r` maps it, else any.
    private mutating func page(in r: Region) -> Int {
        if let hot, hot.backing == r.backing, (r.objectPage..<r.objectPage + r.pages).contains(hot.page), choices.percent(70) {
            return hot.page - r.objectPage
        }
        return choices.below(r.pages)
    }

    static func at(_ variable: String, pages: Int, bytes: Int = 0) -> String {
        var s = variable
        if pages > 0 { s += "+\(pages)p" } else if pages < 0 { s += "-\(-pages)p" }
        if bytes > 0 { s += "+\(bytes)" }
        return s
    }

    /// The errno probes for a length or an address: zero, unaligned, 2^64−1, past any memory.
    private static let probeLengths = ["0", "1", "100", "0xffffffffffffffff", "1G", "0x7fffffffffffffff"]

    private mutating func value(_ kind: ArgumentKind, in r: Region?, certain: Bool, actorProc: String?) -> String? {
        let probe = !certain && kind.probesErrno && choices.percent(probePercent)
        switch kind {
        case .range:
            guard let r else { return nil }
            if certain {
                let p = choices.below(r.pages)
                return "\(Self.at(r.variable, pages: p)) \(choices.within(1...(r.pages - p)))p"
            }
            if probe {
                return choices.pick(["\(Self.at(r.variable, pages: 0, bytes: 100)) 1p", "\(r.variable) \(choices.pick(Self.probeLengths))",
                                     "0 1p", "0xfffffffffffff000 2p", "\(Self.at(r.variable, pages: -1)) 0xffffffffffffffff"])
            }
            let p = page(in: r)
            switch choices.below(8) {
            case 0, 1: return "\(Self.at(r.variable, pages: p)) 1p"
            case 2: return "\(r.variable) \(r.pages)p"
            case 3: return "\(Self.at(r.variable, pages: r.pages - 1)) 2p"     // one page past the end
            case 4: return "\(Self.at(r.variable, pages: -1)) 2p"              // one page before the start
            case 5: return "\(Self.at(r.variable, pages: p)) \(choices.within(1...max(1, r.pages - p)))p"
            case 6: return "\(Self.at(r.variable, pages: p, bytes: choices.within(1...200))) 1p"   // unaligned start, two pages touched
            default: return "\(Self.at(r.variable, pages: p)) \(choices.within(1...3))p"
            }
        case .address, .fixedAddress:
            guard let r else { return nil }
            if probe { return choices.pick(["0", "0xffffffffffffffff", Self.at(r.variable, pages: r.pages), Self.at(r.variable, pages: -1)]) }
            let p = kind == .fixedAddress ? choices.below(r.pages + 1) : page(in: r)
            return Self.at(r.variable, pages: p, bytes: kind == .address && choices.percent(25) ? choices.below(4096) : 0)
        case .attachment:
            guard let p = actorProc else { return nil }
            let attached = world.attachments(of: p)
            return attached.isEmpty ? nil : choices.pick(attached).variable
        case .mappingLength:
            if probe { return choices.pick(Self.probeLengths) }
            return "\(choices.percent(6) ? choices.pages(near: world.wiredMax) : choices.within(1...4))p"
        case .file, .descriptor:
            if let hot, case .file(let f) = hot.backing, choices.percent(60) { return f }
            return world.files.isEmpty ? nil : choices.pick(world.files).name
        case .device:
            return world.devices.isEmpty ? nil : choices.pick(world.devices)
        case .segment:
            if let hot, case .segment(let s) = hot.backing, choices.percent(60) { return s }
            if choices.percent(3) { return "77" }
            return world.segments.isEmpty ? nil : choices.pick(world.segments)
        case .vslockHandle:
            let open = world.openHandles(loans: false)
            return open.isEmpty ? nil : choices.pick(open).variable
        case .loanHandle:
            let open = world.openHandles(loans: true)
            return open.isEmpty ? nil : choices.pick(open).variable
        case .process:
            return nil  // chosen with the line's target mapping
        case .fileOffset:
            if probe { return choices.pick(["100", "0xffffffffffffffff", "1G", "0xfffffffffffff000"]) }
            return "\(choices.below(4))p"
        case .fileLength:
            if probe { return choices.pick(Self.probeLengths) }
            return choices.percent(15) ? "\(choices.within(1...5000))" : "\(choices.below(5))p"
        case .segmentSize:
            if probe { return choices.pick(["0", "1G", "0xffffffffffffffff"]) }
            return "\(choices.percent(12) ? choices.pages(near: world.wiredMax) : choices.within(1...3))p"
        case .protection:
            return choices.pick(["none", "r", "rw", "rw", "rx", "rwx", "w"])
        case .inheritance:
            // 3 is MAP_INHERIT_DONATE_COPY, which uvm_map_inherit refuses.
            return choices.pick(["share", "copy", "none", "zero", "3"])
        case .advice:
            // 5 is MADV_SPACEAVAIL, which sys_madvise refuses.
            return choices.pick(["dontneed", "willneed", "free", "normal", "random", "sequential", "5"])
        case .syncMode:
            return choices.pick(["sync", "async", "invalidate", "sync,invalidate", "async,invalidate", "sync,async", "0", "0x8"])
        case .access, .openMode:
            return choices.pick(["r", "w", "rw"])
        case .direction:
            return choices.pick(["read", "write"])
        case .shmCommand:
            return choices.pick(["lock", "lock", "unlock", "rmid", "stat nattch", "stat locked"])
        case .mlockallFlags:
            return choices.pick(["current", "future", "current,future", "0", "0x4"])
        case .share:
            // Both is MAP_SHARED|MAP_PRIVATE, which sys_mmap refuses.
            return certain ? choices.pick(["shared", "private"]) : choices.pick(["shared", "private", "shared,private"])
        case .wired:
            return "wired"
        case .segmentKey:
            return "\(choices.within(1...3))"
        case .create:
            return "creat"
        case .exclusive:
            return "excl"
        case .segmentMode:
            return choices.pick(["0600", "0644", "0400"])
        case .readOnly:
            return "ro"
        case .byte:
            return byteText(choices.below(256))
        case .memlockLimit:
            return "\(choices.below(9))p"
        case .uid:
            return choices.pick(["0", "1000", "2000"])
        case .pageCount:
            return probe ? "0" : "\(choices.within(1...8))"
        }
    }
}

func byteText(_ b: Int) -> String { b < 16 ? "0x0" + String(b, radix: 16) : "0x" + String(b, radix: 16) }
