// The system-call surface as data: every operation of the scenario language, its arguments and
// what they refer to, what it binds and releases, and what it does to an address space. The
// generator builds lines from it, the shrinker knows from it which words of a line may go, and
// `uvm fuzz --list-operations` prints it (syzkaller's syscall descriptions, in miniature).

import UVMScenario

/// What an argument is: a reference to something a scenario made earlier, or a value.
public enum ArgumentKind: String, Sendable, CaseIterable {
    /// `ADDR LEN` over a mapping the actor's process made (or inherited): the same pages as
    /// another thread's, adjacent, overlapping, one page past either end.
    case range
    /// `ADDR` inside a mapping of the actor's process (of the target, for ptrace).
    case address
    /// `ADDR` bound by shmat: what shmdt takes.
    case attachment
    /// `ADDR` for MAP_FIXED: over an existing mapping (replacing it) or next to one.
    case fixedAddress
    /// The length of a new mapping.
    case mappingLength
    /// A file made by a `file` line.
    case file
    /// A device made by a `device` line.
    case device
    /// A SysV segment id bound by shmget.
    case segment
    /// A handle bound by vslock.
    case vslockHandle
    /// A handle bound by loan.
    case loanHandle
    /// Another process (ptrace's target).
    case process
    /// A file offset (`off=`), page-aligned or not.
    case fileOffset
    /// A file's new length (truncate) or a transfer's (read, write `len=`).
    case fileLength
    /// shmget's `size=`.
    case segmentSize
    case protection
    case inheritance
    case advice
    case syncMode
    case access
    case direction
    case shmCommand
    case mlockallFlags
    case share
    /// `wired` in mmap: MAP_WIRED.
    case wired
    /// `file=` in `mmap anon`: MAP_ANON given a descriptor.
    case descriptor
    /// `mode=` in `mmap file`: how the file was opened.
    case openMode
    /// shmget's `key=`.
    case segmentKey
    /// shmget's `creat` and `excl`: IPC_CREAT and IPC_EXCL.
    case create, exclusive
    /// shmget's `mode=`: permission bits in octal.
    case segmentMode
    case readOnly
    case byte
    /// setrlimit memlock's new limit.
    case memlockLimit
    /// setuid's uid.
    case uid
    /// pagedaemon's `pages=`.
    case pageCount

    /// Whether the generator now and then gives this argument a value chosen to probe an errno:
    /// unaligned, zero, past the end of the address space, 2^64−1.
    public var probesErrno: Bool {
        switch self {
        case .range, .address, .fixedAddress, .mappingLength, .fileOffset, .fileLength, .segmentSize, .pageCount: true
        default: false
        }
    }

    /// Whether giving the argument can make the call fail where leaving it out would not (a
    /// wiring past a limit, a refused combination): a line that must succeed leaves it out.
    public var canFailTheCall: Bool {
        switch self {
        case .wired, .descriptor, .openMode, .segmentKey, .create, .exclusive, .segmentMode: true
        default: false
        }
    }

    /// The resource an argument of this kind names, if it names one.
    public var resource: Resource? {
        switch self {
        case .range, .address, .fixedAddress: .mapping
        case .attachment: .attachment
        case .file, .descriptor: .file
        case .device: .device
        case .segment: .segment
        case .vslockHandle: .vslockHandle
        case .loanHandle: .loanHandle
        case .process: .process
        default: nil
        }
    }
}

/// Something one line makes and a later line names.
public enum Resource: String, Sendable, CaseIterable {
    case mapping, attachment, file, device, segment, vslockHandle = "vslock handle", loanHandle = "loan handle", process
}

/// What an operation does to its process's address space, which decides where the project's
/// rules let the generator put it: an unmap waits for any vslock over the range (FreeBSD
/// `vm_map_delete` waits for system wirings), so a thread that unmaps what its own process still
/// holds vslocked deadlocks by design, and a process that exits holding one leaks it.
public enum Effect: String, Sendable {
    /// Leaves every mapping in place.
    case none
    /// May remove mappings (munmap, shmdt, MAP_FIXED).
    case unmaps
    /// Replaces the address space (exec).
    case replacesSpace = "replaces space"
    /// Ends the process (exit).
    case endsProcess = "ends process"
}

/// One word or argument of an operation, in the order a line writes them.
public enum Piece: Sendable {
    /// A fixed word: `anon`, `write` in `dma H write B`.
    case word(String)
    /// An argument: positional, or `key=value` when `key` is set; `optional` ones may be left out.
    case argument(ArgumentKind, key: String? = nil, optional: Bool = false)
}

/// One form of an operation: `dma H write B` and `dma H read` are two forms of `dma`.
public struct OperationSpec: Sendable {
    /// The word the parser reads: `mmap`, `dma`.
    public let keyword: String
    /// The keyword and the word that tells the forms apart: `mmap file`, `dma read`.
    public let form: String
    /// What follows the keyword.
    public let pieces: [Piece]
    /// What the line binds with `VAR =`, if anything.
    public let produces: Resource?
    /// The handle the line gives back.
    public let releases: Resource?
    public let effect: Effect
    /// Only the kernel's own thread runs it (`kernel: pagedaemon`).
    public let kernelOnly: Bool
    /// How often the generator picks it, relative to the others.
    public let weight: Int

    init(_ keyword: String, form: String? = nil, _ pieces: [Piece], produces: Resource? = nil, releases: Resource? = nil,
         effect: Effect = .none, kernelOnly: Bool = false, weight: Int = 4) {
        self.keyword = keyword
        self.form = form ?? keyword
        self.pieces = pieces
        self.produces = produces
        self.releases = releases
        self.effect = effect
        self.kernelOnly = kernelOnly
        self.weight = weight
    }

    /// The arguments, in order.
    public var arguments: [(kind: ArgumentKind, key: String?, optional: Bool)] {
        pieces.compactMap { if case .argument(let k, let key, let o) = $0 { (k, key, o) } else { nil } }
    }

    /// The resources a line of this form needs to exist before it can be written.
    public var needs: [Resource] {
        var out: [Resource] = []
        for a in arguments where !a.optional {
            if let r = a.kind.resource, !out.contains(r) { out.append(r) }
        }
        return out
    }

    /// The line as docs/scenario-language.md writes it: `mmap file=FILE MAPPING-LENGTH [off=FILE-OFFSET] ...`.
    public var synopsis: String {
        ([keyword] + pieces.map { piece in
            switch piece {
            case .word(let w): return w
            case .argument(let kind, let key, let optional):
                let value = kind.rawValue.uppercasedWords
                let text = key.map { "\($0)=\(value)" } ?? value
                return optional ? "[\(text)]" : text
            }
        }).joined(separator: " ")
    }
}

extension String {
    /// `fileOffset` as `FILE-OFFSET`.
    var uppercasedWords: String {
        var out = ""
        for c in self {
            if c.isUppercase { out += "-" }
            out += c.uppercased()
        }
        return out
    }
}

/// The table.
public enum OperationTable {
    private static let prot: [Piece] = [.argument(.protection, key: "prot", optional: true),
                                        .argument(.protection, key: "maxprot", optional: true)]
    private static let sharing: [Piece] = [.argument(.share, optional: true),
                                           .argument(.fixedAddress, key: "fixed", optional: true),
                                           .argument(.wired, optional: true)]

    public static let operations: [OperationSpec] = [
        // Memory.
        OperationSpec("mmap", form: "mmap anon", [.word("anon"), .argument(.mappingLength)] + prot + sharing
                                                 + [.argument(.descriptor, key: "file", optional: true)],
                      produces: .mapping, effect: .unmaps, weight: 3),
        OperationSpec("mmap", form: "mmap file", [.argument(.file, key: "file"), .argument(.mappingLength),
                                            .argument(.fileOffset, key: "off", optional: true)] + prot + sharing
                                            + [.argument(.openMode, key: "mode", optional: true)],
                      produces: .mapping, effect: .unmaps, weight: 3),
        OperationSpec("mmap", form: "mmap device", [.argument(.device, key: "device"), .argument(.mappingLength),
                                              .argument(.protection, key: "prot", optional: true)], produces: .mapping, weight: 1),
        OperationSpec("munmap", [.argument(.range)], effect: .unmaps, weight: 3),
        OperationSpec("mprotect", [.argument(.range), .argument(.protection)]),
        OperationSpec("minherit", [.argument(.range), .argument(.inheritance)], weight: 2),
        OperationSpec("madvise", [.argument(.range), .argument(.advice)]),
        OperationSpec("msync", [.argument(.range), .argument(.syncMode, optional: true)]),
        OperationSpec("mincore", [.argument(.range), .argument(.address, key: "vec", optional: true)], weight: 2),
        OperationSpec("load", [.argument(.address)], weight: 6),
        OperationSpec("store", [.argument(.address), .argument(.byte)], weight: 6),
        OperationSpec("fill", [.argument(.range), .argument(.byte)], weight: 4),
        OperationSpec("check", [.argument(.range), .argument(.byte)], weight: 3),
        // Wiring.
        OperationSpec("mlock", [.argument(.range)], weight: 5),
        OperationSpec("munlock", [.argument(.range)], weight: 4),
        OperationSpec("mlockall", [.argument(.mlockallFlags)], weight: 2),
        OperationSpec("munlockall", [], weight: 2),
        OperationSpec("shmget", [.argument(.segmentSize, key: "size"), .argument(.segmentKey, key: "key", optional: true),
                                 .argument(.create, optional: true), .argument(.exclusive, optional: true),
                                 .argument(.segmentMode, key: "mode", optional: true)], produces: .segment, weight: 1),
        OperationSpec("shmat", [.argument(.segment), .argument(.readOnly, optional: true)], produces: .attachment, weight: 2),
        OperationSpec("shmdt", [.argument(.attachment)], effect: .unmaps, weight: 2),
        OperationSpec("shmctl", [.argument(.segment), .argument(.shmCommand)], weight: 3),
        OperationSpec("vslock", [.argument(.range), .argument(.access, optional: true)], produces: .vslockHandle, weight: 3),
        OperationSpec("vsunlock", [.argument(.vslockHandle)], releases: .vslockHandle, weight: 2),
        OperationSpec("dma", form: "dma write", [.argument(.vslockHandle), .word("write"), .argument(.byte)], weight: 4),
        OperationSpec("dma", form: "dma read", [.argument(.vslockHandle), .word("read")], weight: 3),
        OperationSpec("physio", [.argument(.device), .argument(.direction), .argument(.range)], weight: 6),
        OperationSpec("sysctl", [.argument(.range)], weight: 3),
        OperationSpec("loan", [.argument(.range)], produces: .loanHandle, weight: 3),
        OperationSpec("unloan", [.argument(.loanHandle)], releases: .loanHandle, weight: 2),
        OperationSpec("ptrace", form: "ptrace read", [.argument(.process), .word("read"), .argument(.address)], weight: 2),
        OperationSpec("ptrace", form: "ptrace write", [.argument(.process), .word("write"), .argument(.address), .argument(.byte)], weight: 3),
        // Files and processes.
        OperationSpec("truncate", [.argument(.file), .argument(.fileLength)], weight: 5),
        OperationSpec("write", [.argument(.file), .argument(.fileOffset, key: "off"), .argument(.address, key: "from"),
                                .argument(.fileLength, key: "len")], weight: 4),
        OperationSpec("read", [.argument(.file), .argument(.fileOffset, key: "off"), .argument(.address, key: "to"),
                               .argument(.fileLength, key: "len")], weight: 4),
        OperationSpec("fsync", [.argument(.file)], weight: 2),
        OperationSpec("fork", [], produces: .process, weight: 1),
        OperationSpec("setrlimit", [.word("memlock"), .argument(.memlockLimit)], weight: 1),
        OperationSpec("setuid", [.argument(.uid)], weight: 1),
        OperationSpec("exec", [], effect: .replacesSpace, weight: 1),
        OperationSpec("exit", [], effect: .endsProcess, weight: 1),
        OperationSpec("pagedaemon", [.argument(.pageCount, key: "pages", optional: true)], kernelOnly: true, weight: 4),
    ]

    /// Every keyword, once.
    public static var keywords: [String] {
        var out: [String] = []
        for op in operations where !out.contains(op.keyword) { out.append(op.keyword) }
        return out
    }

    public static func spec(form: String) -> OperationSpec? { operations.first { $0.form == form } }

    /// The form a parsed command is, so a run's results can be told apart per form.
    public static func form(of command: Command) -> String {
        switch command {
        case .mmapAnon: "mmap anon"
        case .mmapFile: "mmap file"
        case .mmapDevice: "mmap device"
        case .munmap: "munmap"
        case .mprotect: "mprotect"
        case .minherit: "minherit"
        case .madvise: "madvise"
        case .msync: "msync"
        case .mincore: "mincore"
        case .load: "load"
        case .store: "store"
        case .fill: "fill"
        case .check: "check"
        case .mlock: "mlock"
        case .munlock: "munlock"
        case .mlockall: "mlockall"
        case .munlockall: "munlockall"
        case .shmget: "shmget"
        case .shmat: "shmat"
        case .shmdt: "shmdt"
        case .shmctl: "shmctl"
        case .vslock: "vslock"
        case .vsunlock: "vsunlock"
        case .dmaWrite: "dma write"
        case .dmaRead: "dma read"
        case .physio: "physio"
        case .sysctl: "sysctl"
        case .loan: "loan"
        case .unloan: "unloan"
        case .ptraceRead: "ptrace read"
        case .ptraceWrite: "ptrace write"
        case .truncate: "truncate"
        case .write: "write"
        case .read: "read"
        case .fsync: "fsync"
        case .fork: "fork"
        case .setrlimitMemlock: "setrlimit"
        case .setuid: "setuid"
        case .exec: "exec"
        case .exit: "exit"
        case .pagedaemon: "pagedaemon"
        }
    }

    /// The table as `uvm fuzz --list-operations` prints it: Markdown, as docs/fuzzing.md shows it.
    public static func listing() -> String {
        func row(_ cells: [String]) -> String { "| " + cells.joined(separator: " | ") + " |" }
        var out = [row(["form", "line", "binds", "gives back", "effect", "actor"]), row(Array(repeating: "---", count: 6))]
        for op in operations {
            out.append(row([op.form, "`\(op.synopsis)`", op.produces?.rawValue ?? "-", op.releases?.rawValue ?? "-", op.effect.rawValue,
                            op.kernelOnly ? "kernel" : "thread"]))
        }
        out += ["", row(["argument", "names", "errno probes"]), row(Array(repeating: "---", count: 3))]
        for kind in ArgumentKind.allCases {
            out.append(row([kind.rawValue.uppercasedWords, kind.resource?.rawValue ?? "-", kind.probesErrno ? "yes" : "-"]))
        }
        return out.joined(separator: "\n")
    }
}
