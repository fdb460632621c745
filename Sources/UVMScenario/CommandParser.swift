// The operations' arguments: one small grammar per operation, after the `ACTOR: [VAR =]` prefix.
// Positional arguments come first in the order docs/scenario-language.md gives; optional ones
// follow in any order.

enum CommandParser {
    /// Every operation, in the order of docs/scenario-language.md; also tells a line that forgot
    /// its `ACTOR:` from one that is not a statement at all.
    static let names = [
        "mmap", "munmap", "mprotect", "minherit", "madvise", "msync", "mincore", "load", "store", "fill", "check",
        "mlock", "munlock", "mlockall", "munlockall", "shmget", "shmat", "shmdt", "shmctl",
        "vslock", "vsunlock", "dma", "physio", "sysctl", "loan", "unloan", "ptrace",
        "truncate", "write", "read", "fsync", "fork", "setrlimit", "setuid", "exec", "exit", "pagedaemon",
    ]

    /// The operation the reader stands on, read to the end of the statement. `binding` is the
    /// line's `VAR =`, which `fork` requires.
    static func command(_ reader: inout LineReader, binding: String?) throws(ScenarioError) -> Command {
        guard let token = reader.current, token.kind == .word, names.contains(token.text) else {
            throw reader.failure(expected: "an operation (\(LineReader.list(names, "or")))")
        }
        _ = reader.skip(.word)
        let name = token.text
        let command: Command
        switch name {
        case "mmap": command = try mmap(&reader)
        case "munmap": command = try range(&reader, name, Command.munmap)
        case "mprotect":
            let (address, length) = try range(&reader, name)
            command = .mprotect(address, length, try reader.protection("for 'mprotect'"))
        case "minherit":
            let (address, length) = try range(&reader, name)
            command = .minherit(address, length, try reader.rawValue(Inheritance.words, "for 'minherit'"))
        case "madvise":
            let (address, length) = try range(&reader, name)
            command = .madvise(address, length, try reader.rawValue(Advice.words, "for 'madvise'"))
        case "msync":
            let (address, length) = try range(&reader, name)
            command = .msync(address, length, try syncMode(&reader))
        case "mincore":
            let (address, length) = try range(&reader, name)
            var grammar = OptionGrammar(statement: name, keys: ["vec"])
            let vector = try reader.option(&grammar) == nil ? nil : try reader.address("after 'vec='")
            command = .mincore(address, length, vector: vector)
        case "load": command = .load(try reader.address("after 'load'"))
        case "store":
            let address = try reader.address("after 'store'")
            command = .store(address, try reader.byte("for 'store'"))
        case "fill", "check":
            let (address, length) = try range(&reader, name)
            let byte = try reader.byte("for '\(name)'")
            command = name == "fill" ? .fill(address, length, byte) : .check(address, length, byte)
        case "mlock": command = try range(&reader, name, Command.mlock)
        case "munlock": command = try range(&reader, name, Command.munlock)
        case "mlockall": command = try mlockall(&reader)
        case "munlockall": command = .munlockall
        case "shmget": command = try shmget(&reader)
        case "shmat":
            let id = try segment(&reader, name)
            command = .shmat(id: id, readOnly: try flag(&reader, name, [("ro", true)]) ?? false)
        case "shmdt": command = .shmdt(try reader.address("after 'shmdt'"))
        case "shmctl":
            let id = try segment(&reader, name)
            if reader.skip(word: "stat") != nil {
                let fields = ShmStatField.allCases.map { ($0.rawValue, $0) }
                command = .shmctl(id: id, .stat(try reader.keyword(fields, "after 'shmctl \(id) stat'")))
            } else if let token = reader.current, token.kind == .word,
                      let cmd = [("lock", ShmCommand.lock), ("unlock", .unlock), ("rmid", .rmid)].first(where: { $0.0 == token.text })?.1 {
                _ = reader.skip(.word)
                command = .shmctl(id: id, cmd)
            } else {
                throw reader.failure(expected: "lock, unlock, rmid or stat FIELD for 'shmctl'")
            }
        case "vslock":
            let (address, length) = try range(&reader, name)
            let access = try flag(&reader, name, accessWords)
            command = .vslock(address, length, access)
        case "vsunlock": command = .vsunlock(handle: try reader.name("a handle bound by vslock after 'vsunlock'"))
        case "dma":
            let handle = try reader.name("a handle bound by vslock after 'dma'")
            if try reader.keyword([("write", true), ("read", false)], "after 'dma \(handle)'") {
                command = .dmaWrite(handle: handle, try reader.byte("for 'dma \(handle) write'"))
            } else {
                command = .dmaRead(handle: handle)
            }
        case "physio":
            let device = try reader.name("a device name after 'physio'")
            let direction = try reader.keyword([("read", Direction.read), ("write", .write)], "after 'physio \(device)'")
            let (address, length) = try range(&reader, name)
            command = .physio(device: device, direction, address, length)
        case "sysctl": command = try range(&reader, name, Command.sysctl)
        case "loan": command = try range(&reader, name, Command.loan)
        case "unloan": command = .unloan(handle: try reader.name("a handle bound by loan after 'unloan'"))
        case "ptrace":
            let proc = try reader.name("a process name after 'ptrace'")
            let write = try reader.keyword([("read", false), ("write", true)], "after 'ptrace \(proc)'")
            let address = try reader.address("after 'ptrace \(proc) \(write ? "write" : "read")'")
            command = write ? .ptraceWrite(proc: proc, address, try reader.byte("for 'ptrace \(proc) write'"))
                            : .ptraceRead(proc: proc, address)
        case "truncate":
            let file = try reader.name("a file name after 'truncate'")
            command = .truncate(file: file, try reader.size("as the new length for 'truncate'"))
        case "write", "read": command = try transfer(&reader, name)
        case "fsync": command = .fsync(file: try reader.name("a file name after 'fsync'"))
        case "fork":
            guard binding != nil else {
                throw reader.failure("expected 'VAR = fork', which names the child process, found 'fork' without a variable", at: token)
            }
            command = .fork
        case "setrlimit":
            try reader.keyword([("memlock", ())], "after 'setrlimit'")
            command = .setrlimitMemlock(try reader.size("as the new limit for 'setrlimit memlock'"))
        case "setuid": command = .setuid(try reader.number("as the uid for 'setuid'", as: UInt32.self))
        case "exec": command = .exec
        case "exit": command = .exit
        default:
            var grammar = OptionGrammar(statement: name, keys: ["pages"])
            command = .pagedaemon(pages: try reader.option(&grammar) == nil ? nil : try reader.number("after 'pages='"))
        }
        try reader.finish(name)
        return command
    }

    /// `ADDR LEN`, the range most operations take.
    private static func range(_ reader: inout LineReader, _ name: String) throws(ScenarioError) -> (Address, Size) {
        let address = try reader.address("after '\(name)'")
        return (address, try reader.size("as the length for '\(name)'"))
    }

    /// `r`, `w` or `rw`.
    private static let accessWords = [("r", Access.read), ("w", .write), ("rw", .readWrite)]

    /// An operation that takes nothing but `ADDR LEN`.
    private static func range(_ reader: inout LineReader, _ name: String,
                              _ make: (Address, Size) -> Command) throws(ScenarioError) -> Command {
        let (address, length) = try range(&reader, name)
        return make(address, length)
    }

    /// The optional bare word that ends some operations (`msync`'s mode, `vslock`'s access,
    /// `shmat`'s `ro`), or nil when the line stops before it.
    private static func flag<Value>(_ reader: inout LineReader, _ name: String,
                                    _ choices: [(String, Value)]) throws(ScenarioError) -> Value? {
        let option = LineReader.list(choices.map(\.0), "or")
        var grammar = OptionGrammar(statement: name, keys: [], flags: choices.map { ($0.0, option) })
        guard let word = try reader.option(&grammar) else { return nil }
        return choices.first { $0.0 == word }?.1
    }

    /// `mmap anon|file=NAME|device=NAME LEN` and the options each kind of mapping takes.
    private static func mmap(_ reader: inout LineReader) throws(ScenarioError) -> Command {
        guard let source = reader.current, source.kind == .word, ["anon", "file", "device"].contains(source.text) else {
            throw reader.failure(expected: "anon, file=NAME or device=NAME after 'mmap'")
        }
        _ = reader.skip(.word)
        var object = ""
        if source.text != "anon" {
            _ = try reader.expect(.equals, "'=' after '\(source.text)'")
            object = try reader.name("a \(source.text) name after '\(source.text)='")
        }
        let length = try reader.size("as the length for 'mmap'")
        let share = "shared or private"
        let mapFlags = [("shared", share), ("private", share), ("wired", "wired")]
        var grammar = switch source.text {
        case "anon": OptionGrammar(statement: "mmap anon", keys: ["prot", "maxprot", "fixed", "file"], flags: mapFlags)
        case "file": OptionGrammar(statement: "mmap file", keys: ["off", "prot", "maxprot", "fixed", "mode"], flags: mapFlags)
        default: OptionGrammar(statement: "mmap device", keys: ["prot"])
        }
        var offset: Size?
        var prot, maxProt: Protection?
        var sharing: MapShare?
        var wired = false
        var fixed: Address?
        var descriptor: String?
        var openMode: Access?
        while let key = try reader.option(&grammar) {
            switch key {
            case "off": offset = try reader.size("after 'off='")
            case "prot": prot = try reader.protection("after 'prot='")
            case "maxprot": maxProt = try reader.protection("after 'maxprot='")
            case "fixed": fixed = try reader.address("after 'fixed='")
            case "file": descriptor = try reader.name("a file name after 'file='")
            case "mode": openMode = try reader.keyword(accessWords, "after 'mode='")
            case "shared", "private":
                sharing = key == "shared" ? .shared : .private
                // `shared,private` is MAP_SHARED|MAP_PRIVATE, which sys_mmap refuses.
                if reader.skip(.comma) != nil {
                    try reader.keyword([(key == "shared" ? "private" : "shared", ())], "after '\(key),'")
                    sharing = .both
                }
            default: wired = true
            }
        }
        switch source.text {
        case "anon": return .mmapAnon(length: length, prot: prot, maxProt: maxProt, share: sharing, fixed: fixed,
                                      wired: wired, file: descriptor)
        case "file": return .mmapFile(file: object, length: length, offset: offset, prot: prot, maxProt: maxProt,
                                      share: sharing, fixed: fixed, wired: wired, openMode: openMode)
        default: return .mmapDevice(device: object, length: length, prot: prot)
        }
    }

    /// `msync`'s optional flags: `MODE[,MODE...]`, or the MS_* bits as a number.
    private static func syncMode(_ reader: inout LineReader) throws(ScenarioError) -> SyncMode? {
        if reader.current?.kind == .number { return try reader.rawValue(SyncMode.words, "for 'msync'") }
        guard var mode = try flag(&reader, "msync", SyncMode.words) else { return nil }
        while reader.skip(.comma) != nil { mode.formUnion(try reader.keyword(SyncMode.words, "after ',' in 'msync'")) }
        return mode
    }

    /// `mlockall current|future|current,future`, or the flags as a number (`0`, `0x4`).
    private static func mlockall(_ reader: inout LineReader) throws(ScenarioError) -> Command {
        if reader.current?.kind == .number {
            let flags = try reader.number("for 'mlockall'")
            return .mlockall(current: flags & 1 != 0, future: flags & 2 != 0, otherBits: flags & ~3)
        }
        var current = false, future = false
        repeat {
            let token = reader.current
            let isCurrent = try reader.keyword([("current", true), ("future", false)], "for 'mlockall'")
            if isCurrent ? current : future, let token {
                throw reader.failure("expected each of current and future at most once, found '\(token.text)' again", at: token)
            }
            if isCurrent { current = true } else { future = true }
        } while reader.skip(.comma) != nil
        return .mlockall(current: current, future: future)
    }

    /// `shmget [size=SIZE] [key=N] [creat] [excl] [mode=OCTAL]`: a size, a key, or both.
    private static func shmget(_ reader: inout LineReader) throws(ScenarioError) -> Command {
        var grammar = OptionGrammar(statement: "shmget", keys: ["size", "key", "mode"],
                                    flags: [("creat", "creat"), ("excl", "excl")])
        var size: Size?
        var key: UInt64?
        var mode: UInt32?
        var create = false, exclusive = false
        while let option = try reader.option(&grammar) {
            switch option {
            case "size": size = try reader.size("after 'size='")
            case "key": key = try reader.number("after 'key='")
            case "mode":
                // Permission bits in octal, as chmod writes them.
                guard let token = reader.current, token.kind == .number, let bits = UInt32(token.text, radix: 8), bits <= 0o777 else {
                    throw reader.failure(expected: "permission bits in octal (0600) after 'mode='")
                }
                _ = reader.skip(.number)
                mode = bits
            case "creat": create = true
            default: exclusive = true
            }
        }
        // key 0 is IPC_PRIVATE.
        if key == 0 { key = nil }
        guard size != nil || key != nil else { throw reader.failure(expected: "size=SIZE for 'shmget'") }
        return .shmget(size: size, key: key, create: create, exclusive: exclusive, mode: mode)
    }

    /// A SysV segment id: the variable `shmget` bound, or the number itself.
    private static func segment(_ reader: inout LineReader, _ name: String) throws(ScenarioError) -> String {
        if let token = reader.current {
            let isNumber = try reader.numeral(token)?.suffix.isEmpty == true
            if token.kind == .word || isNumber {
                _ = reader.skip(token.kind)
                return token.text
            }
        }
        throw reader.failure(expected: "a segment id (a variable bound by shmget, or a number) after '\(name)'")
    }

    /// `write FILE off=SIZE from=ADDR len=SIZE` and `read FILE off=SIZE to=ADDR len=SIZE`, whose
    /// three arguments are all required but may come in any order.
    private static func transfer(_ reader: inout LineReader, _ name: String) throws(ScenarioError) -> Command {
        let file = try reader.name("a file name after '\(name)'")
        let buffer = name == "write" ? "from" : "to"
        var grammar = OptionGrammar(statement: name, keys: ["off", buffer, "len"])
        var offset, length: Size?
        var address: Address?
        while let key = try reader.option(&grammar) {
            switch key {
            case "off": offset = try reader.size("after 'off='")
            case "len": length = try reader.size("after 'len='")
            default: address = try reader.address("after '\(buffer)='")
            }
        }
        guard let offset, let address, let length else {
            let missing = [("off=SIZE", offset == nil), ("\(buffer)=ADDR", address == nil), ("len=SIZE", length == nil)]
            throw reader.failure(expected: "\(LineReader.list(missing.filter(\.1).map(\.0), "and")) for '\(name)'")
        }
        return name == "write" ? .write(file: file, offset: offset, from: address, length: length)
                               : .read(file: file, offset: offset, to: address, length: length)
    }
}
