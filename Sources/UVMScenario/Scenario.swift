// The syntax tree of a scenario file: one statement per non-blank line, except that a
// `together ... end` block is one statement.

/// A parsed `.uvm` file. Names are not resolved here: whether a thread, file or variable exists
/// depends on what earlier lines did when they ran, so the interpreter checks that.
public struct Scenario: Sendable, Hashable {
    /// The file name used in every `SourceLocation` of the tree.
    public var file: String
    public var statements: [Statement]

    public init(file: String, statements: [Statement]) {
        self.file = file
        self.statements = statements
    }
}

/// One line of a scenario, or one `together ... end` block.
public struct Statement: Sendable, Hashable {
    /// The statement's first token: its keyword, or the actor of an operation.
    public var location: SourceLocation
    public var kind: Kind

    public init(location: SourceLocation, kind: Kind) {
        self.location = location
        self.kind = kind
    }

    public enum Kind: Sendable, Hashable {
        /// `machine [ram=SIZE] [pagesize=SIZE] [swap=SIZE] [wiredmax=SIZE] [shmseg=N]`; nil means
        /// the default.
        case machine(ram: Size?, pageSize: Size?, swap: Size?, wiredMax: Size?, shmSeg: UInt64?)
        /// `policy modern` (knob `modern`, value empty) or `policy KNOB=VALUE`. Knob and value may
        /// contain `-` (`vnode-fault=busy-then-lock`); the kernel, not the parser, knows the knobs.
        case policy(knob: String, value: String)
        /// `file NAME size=SIZE [fill=BYTE]`; `fill` defaults to 0.
        /// `badpage=N`: the disk block behind page N of the file fails every transfer (EIO), for
        /// fault injection.
        case file(name: String, size: Size, fill: UInt8, badPage: UInt64? = nil)
        /// `device NAME [pattern=BYTE]`; `pattern` defaults to 0xa5.
        case device(name: String, pattern: UInt8)
        /// `proc NAME [uid=N] [memlock=SIZE]`; `uid` defaults to 1000, a nil `memlock` means one
        /// third of ram.
        case proc(name: String, uid: UInt32, memlock: Size?)
        /// `thread NAME in PROC`.
        case thread(name: String, proc: String)
        /// `ACTOR: [VAR =] OPERATION ARGS... [=> EXPECTED]`.
        case operation(Operation)
        /// `together`, one operation per line, `end`: the operations of each actor run in order,
        /// interleaved with the other actors' by the scheduler. Never empty.
        case together([Operation])
        /// `expect ...`: a check of the machine's state at this point of the run.
        case expect(Expectation)
    }
}

/// An `expect` line.
public struct Expectation: Sendable, Hashable {
    public var kind: Kind
    public var location: SourceLocation

    public init(kind: Kind, location: SourceLocation) {
        self.kind = kind
        self.location = location
    }

    public enum Kind: Sendable, Hashable {
        /// `expect wired = SIZE` (machine-wide, proc nil) or `expect wired PROC = SIZE`.
        case wired(proc: String?, Size)
        /// `expect free = SIZE`.
        case free(Size)
        /// `expect locked PROC ADDR LEN = yes|no`: the mlock state of the range.
        case locked(proc: String, Address, Size, Bool)
        /// `expect resident PROC ADDR LEN = 0110`: one `0`/`1` per page, as `mincore` reports.
        case resident(proc: String, Address, Size, String)
        /// `expect device NAME = BYTE`: every byte the device last received.
        case device(name: String, UInt8)
    }
}
