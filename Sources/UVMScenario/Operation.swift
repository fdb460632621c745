// Operations: the system calls and kernel entry points a thread performs, and the results a
// scenario expects from them.

/// `ACTOR: [VAR =] OPERATION ARGS... [=> EXPECTED]`.
public struct Operation: Sendable, Hashable {
    /// The actor's token, the start of the line.
    public var location: SourceLocation
    /// A thread (a process's name stands for its first thread), or `kernel`.
    public var actor: String
    /// The variable that receives the result (an address or a handle), if the line names one.
    public var binding: String?
    public var command: Command
    /// The accepted results, any one of which passes; nil when the line has no `=>`, in which case
    /// any result but a kernel failure is accepted.
    public var expected: [ExpectedResult]?
    /// The `=>` token, where a result that does not match is reported.
    public var expectedLocation: SourceLocation?

    public init(location: SourceLocation, actor: String, binding: String? = nil, command: Command,
                expected: [ExpectedResult]? = nil, expectedLocation: SourceLocation? = nil) {
        self.location = location
        self.actor = actor
        self.binding = binding
        self.command = command
        self.expected = expected
        self.expectedLocation = expectedLocation
    }
}

/// One alternative after `=>`.
public enum ExpectedResult: Sendable, Hashable {
    case ok
    /// An errno name: `E` and capitals or digits (`EINVAL`, `EAGAIN`).
    case errno(String)
    /// A signal name: `SIG` and capitals (`SIGSEGV`, `SIGBUS`).
    case signal(String)
    /// A hex number up to `0xff`: the byte `load` or `dma read` returned.
    case byte(UInt8)
    /// A decimal number written only with `0` and `1`, as `mincore` prints its pages. `=> 1` is
    /// therefore bits, not the number one; the interpreter compares it with the printed result.
    case bits(String)
    /// Any other number, as written (a decimal like `12`, or hex above `0xff` like `0x10000`).
    case value(String)
}

/// `shared` or `private` in `mmap`; `both`, written `shared,private`, is MAP_SHARED|MAP_PRIVATE,
/// which sys_mmap refuses.
/// Neither word is MAP_PRIVATE: uvm_mmap makes any mapping without MAP_SHARED copy-on-write.
public enum MapShare: Sendable, Hashable {
    case shared, `private`, both
}

/// An argument the language writes as a word or as the number the system call takes.
public protocol RawArgument {
    init(rawValue: UInt64)
}

/// `minherit`'s inheritance, NetBSD's MAP_INHERIT_* value: a word, or any number, so that the
/// values uvm_map_inherit refuses can be written.
public struct Inheritance: RawArgument, Sendable, Hashable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public static let share = Inheritance(rawValue: 0)
    public static let copy = Inheritance(rawValue: 1)
    public static let none = Inheritance(rawValue: 2)
    /// MAP_INHERIT_ZERO: the child gets fresh zero-filled memory in the range.
    public static let zero = Inheritance(rawValue: 4)
    static let words: [(String, Inheritance)] = [("share", .share), ("copy", .copy), ("none", .none), ("zero", .zero)]
}

/// `madvise`'s advice, NetBSD's MADV_* value: a word, or any number (sys_madvise refuses the
/// ones it does not know).
public struct Advice: RawArgument, Sendable, Hashable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public static let normal = Advice(rawValue: 0)
    public static let random = Advice(rawValue: 1)
    public static let sequential = Advice(rawValue: 2)
    public static let willneed = Advice(rawValue: 3)
    public static let dontneed = Advice(rawValue: 4)
    public static let free = Advice(rawValue: 6)
    static let words: [(String, Advice)] = [("normal", .normal), ("random", .random), ("sequential", .sequential),
                                            ("willneed", .willneed), ("dontneed", .dontneed), ("free", .free)]
}

/// `msync`'s flags, NetBSD's MS_* bits: words joined by commas (`sync,invalidate`), or a number
/// (`0x7`), so that the combinations sys___msync13 refuses can be written.
public struct SyncMode: OptionSet, RawArgument, Sendable, Hashable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public static let async = SyncMode(rawValue: 1)
    public static let invalidate = SyncMode(rawValue: 2)
    public static let sync = SyncMode(rawValue: 4)
    static let words: [(String, SyncMode)] = [("sync", .sync), ("async", .async), ("invalidate", .invalidate)]
}

/// The access a `vslock` prepares the range for, or the one a file was opened with: `r`, `w` or
/// `rw`.
public enum Access: Sendable, Hashable {
    case read, write, readWrite
}

/// The direction of a `physio` transfer, named from the device's side as read(2) and write(2) do:
/// `read` fills memory from the device, `write` sends memory to it.
public enum Direction: Sendable, Hashable {
    case read, write
}

/// `shmctl`'s command: SHM_LOCK, SHM_UNLOCK, IPC_RMID, or IPC_STAT and the field to show.
public enum ShmCommand: Sendable, Hashable {
    case lock, unlock, rmid
    case stat(ShmStatField)
}

/// The field of `shmctl ID stat` that is the line's result.
public enum ShmStatField: String, Sendable, Hashable, CaseIterable {
    /// shm_segsz, in bytes.
    case size
    /// shm_nattch.
    case nattch
    /// The permission bits of shm_perm.mode, in octal (`0600`).
    case mode
    /// `1` if SHM_LOCK holds the segment (SHMSEG_WIRED in shm_perm.mode), else `0`.
    case locked
}

/// An operation and its arguments, one case per operation of the language. Optional arguments
/// are nil when the line leaves them out, so the kernel, which owns the defaults, supplies them.
public enum Command: Sendable, Hashable {
    // Memory.
    /// `mmap anon LEN [prot=PROT] [maxprot=PROT] [shared|private|shared,private] [fixed=ADDR] [wired] [file=NAME]`;
    /// `file=` gives MAP_ANON a descriptor, which sys_mmap refuses.
    case mmapAnon(length: Size, prot: Protection?, maxProt: Protection?, share: MapShare?, fixed: Address?,
                  wired: Bool = false, file: String? = nil)
    /// `mmap file=NAME LEN [off=SIZE] [prot=PROT] [maxprot=PROT] [shared|private|shared,private] [fixed=ADDR] [wired]
    /// [mode=r|w|rw]`; `mode=` is how the descriptor was opened (nil: read-write).
    case mmapFile(file: String, length: Size, offset: Size?, prot: Protection?, maxProt: Protection?,
                  share: MapShare?, fixed: Address?, wired: Bool = false, openMode: Access? = nil)
    /// `mmap device=NAME LEN [prot=PROT]`.
    case mmapDevice(device: String, length: Size, prot: Protection?)
    /// `munmap ADDR LEN`.
    case munmap(Address, Size)
    /// `mprotect ADDR LEN PROT`.
    case mprotect(Address, Size, Protection)
    /// `minherit ADDR LEN share|copy|none|zero|NUMBER`.
    case minherit(Address, Size, Inheritance)
    /// `madvise ADDR LEN normal|random|sequential|willneed|dontneed|free|NUMBER`.
    case madvise(Address, Size, Advice)
    /// `msync ADDR LEN [sync|async|invalidate[,...]|NUMBER]`; nil is MS_SYNC.
    case msync(Address, Size, SyncMode?)
    /// `mincore ADDR LEN [vec=ADDR]`: `vec=` is where the answer is copied out.
    case mincore(Address, Size, vector: Address? = nil)
    /// `load ADDR`.
    case load(Address)
    /// `store ADDR BYTE`.
    case store(Address, UInt8)
    /// `fill ADDR LEN BYTE`.
    case fill(Address, Size, UInt8)
    /// `check ADDR LEN BYTE`.
    case check(Address, Size, UInt8)

    // Wiring.
    /// `mlock ADDR LEN`.
    case mlock(Address, Size)
    /// `munlock ADDR LEN`.
    case munlock(Address, Size)
    /// `mlockall current|future|current,future|NUMBER`; `otherBits` are a number's bits beyond
    /// MCL_CURRENT (1) and MCL_FUTURE (2).
    case mlockall(current: Bool, future: Bool, otherBits: UInt64 = 0)
    /// `munlockall`.
    case munlockall
    /// `shmget [size=SIZE] [key=N] [creat] [excl] [mode=OCTAL]`: without `key=` (or with key 0)
    /// IPC_PRIVATE, a new segment; `creat` and `excl` are IPC_CREAT and IPC_EXCL.
    case shmget(size: Size?, key: UInt64? = nil, create: Bool = false, exclusive: Bool = false, mode: UInt32? = nil)
    /// `shmat ID [ro]`; the id is a variable bound by `shmget` or a literal number, as written.
    case shmat(id: String, readOnly: Bool)
    /// `shmdt ADDR`.
    case shmdt(Address)
    /// `shmctl ID lock|unlock|rmid|stat FIELD`.
    case shmctl(id: String, ShmCommand)
    /// `vslock ADDR LEN [r|w|rw]`.
    case vslock(Address, Size, Access?)
    /// `vsunlock HANDLE`.
    case vsunlock(handle: String)
    /// `dma HANDLE write BYTE`: the device writes into the captured pages.
    case dmaWrite(handle: String, UInt8)
    /// `dma HANDLE read`: the device reads the captured pages.
    case dmaRead(handle: String)
    /// `physio DEVICE read|write ADDR LEN`.
    case physio(device: String, Direction, Address, Size)
    /// `sysctl ADDR LEN`.
    case sysctl(Address, Size)
    /// `loan ADDR LEN`.
    case loan(Address, Size)
    /// `unloan HANDLE`.
    case unloan(handle: String)
    /// `ptrace PROC read ADDR`.
    case ptraceRead(proc: String, Address)
    /// `ptrace PROC write ADDR BYTE`.
    case ptraceWrite(proc: String, Address, UInt8)

    // Files and processes.
    /// `truncate FILE SIZE`.
    case truncate(file: String, Size)
    /// `write FILE off=SIZE from=ADDR len=SIZE`.
    case write(file: String, offset: Size, from: Address, length: Size)
    /// `read FILE off=SIZE to=ADDR len=SIZE`.
    case read(file: String, offset: Size, to: Address, length: Size)
    /// `fsync FILE`.
    case fsync(file: String)
    /// `VAR = fork`: the child process and its thread are both named VAR, the operation's binding.
    case fork
    /// `setrlimit memlock SIZE`: RLIMIT_MEMLOCK, soft and hard.
    case setrlimitMemlock(Size)
    /// `setuid N`.
    case setuid(UInt32)
    /// `exec`.
    case exec
    /// `exit`.
    case exit
    /// `pagedaemon [pages=N]`; nil means as many as it can.
    case pagedaemon(pages: UInt64?)
}
