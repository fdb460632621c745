// The parser: a scenario file into a `Scenario`. It checks the grammar only; whether the names
// a line uses exist is a question about the run, answered by the interpreter.

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

public enum ScenarioParser {
    /// Parses the text of a scenario. `file` is the name every location reports.
    public static func parse(_ text: String, file: String) throws(ScenarioError) -> Scenario {
        var statements: [Statement] = []
        // The open `together` block: where it started and the operations read so far.
        var block: (location: SourceLocation, operations: [Operation])?
        for (index, scalars) in Lexer.lines(of: text).enumerated() {
            let start = SourceLocation(file: file, line: index + 1, column: 1)
            let tokens = try Lexer.tokens(of: scalars, at: start)
            guard let last = tokens.last else { continue }
            switch try parseLine(LineReader(file: file, line: index + 1, tokens: tokens, lineEnd: last.endColumn)) {
            case .operation(let operation):
                if block != nil {
                    block?.operations.append(operation)
                } else {
                    statements.append(Statement(location: operation.location, kind: .operation(operation)))
                }
            case .together(let location):
                if let open = block {
                    throw ScenarioError(location: location, message:
                        "expected 'end' for the 'together' at line \(open.location.line) before another 'together'")
                }
                block = (location, [])
            case .end(let location):
                guard let open = block else {
                    throw ScenarioError(location: location, message: "expected 'together' before 'end'")
                }
                if open.operations.isEmpty {
                    throw ScenarioError(location: location, message:
                        "expected 'ACTOR: OPERATION' lines in the 'together' at line \(open.location.line), found 'end'")
                }
                statements.append(Statement(location: open.location, kind: .together(open.operations)))
                block = nil
            case .statement(let statement):
                if let open = block {
                    throw ScenarioError(location: statement.location, message:
                        "expected 'ACTOR: OPERATION' or 'end' in the 'together' at line \(open.location.line), found '\(tokens[0].text)'")
                }
                statements.append(statement)
            }
        }
        if let open = block {
            throw ScenarioError(location: open.location, message: "expected 'end' for this 'together', found end of file")
        }
        return Scenario(file: file, statements: statements)
    }

    /// Reads and parses the scenario at `path`, which is also the file name in its locations;
    /// returns it with its text. A file that cannot be read is reported for the file as a whole
    /// (`FILE: no such file`): no line of it is to blame.
    public static func parse(contentsOf path: String) throws(ScenarioError) -> (scenario: Scenario, text: String) {
        let wholeFile = SourceLocation(file: path, line: 0, column: 0)
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else {
            throw ScenarioError(location: wholeFile, message: "no such file")
        }
        if attributes[.type] as? FileAttributeType == .typeDirectory {
            throw ScenarioError(location: wholeFile, message: "is a directory, not a scenario file")
        }
        guard let data = FileManager.default.contents(atPath: path), let text = String(validating: data, as: UTF8.self) else {
            throw ScenarioError(location: wholeFile, message: "not a readable UTF-8 text file")
        }
        return (try parse(text, file: path), text)
    }

    /// What one line is, before `parse` fits it into the block structure.
    private enum Line {
        case statement(Statement)
        case operation(Operation)
        case together(SourceLocation)
        case end(SourceLocation)
    }

    private static let statementKeywords = ["machine", "policy", "file", "device", "proc", "thread", "together", "end", "expect"]

    private static func parseLine(_ line: LineReader) throws(ScenarioError) -> Line {
        var reader = line
        let first = reader.tokens[0]
        // `NAME:` is an operation whatever NAME is, so a thread may be called `file` or `end`.
        if first.kind == .word, reader.tokens.count > 1, reader.tokens[1].kind == .colon {
            return .operation(try parseOperation(line))
        }
        guard first.kind == .word, statementKeywords.contains(first.text) else {
            if first.kind == .word, CommandParser.names.contains(first.text)
                || (reader.tokens.count > 1 && reader.tokens[1].kind == .equals) {
                throw reader.failure(expected: "'ACTOR:' (a thread, or kernel) before the operation")
            }
            throw reader.failure(expected: "a statement (\(LineReader.list(statementKeywords, "or"))) or 'ACTOR: OPERATION'")
        }
        _ = reader.skip(.word)
        let location = reader.location(of: first)
        let kind: Statement.Kind
        switch first.text {
        case "together":
            try reader.finish("together")
            return .together(location)
        case "end":
            try reader.finish("end")
            return .end(location)
        case "machine": kind = try parseMachine(&reader)
        case "policy": kind = try parsePolicy(&reader)
        case "file": kind = try parseFile(&reader)
        case "device": kind = try parseDevice(&reader)
        case "proc": kind = try parseProc(&reader)
        case "thread": kind = try parseThread(&reader)
        default: kind = .expect(Expectation(kind: try parseExpectation(&reader), location: location))
        }
        try reader.finish(first.text)
        return .statement(Statement(location: location, kind: kind))
    }

    // MARK: Setup statements

    private static func parseMachine(_ reader: inout LineReader) throws(ScenarioError) -> Statement.Kind {
        var grammar = OptionGrammar(statement: "machine", keys: ["ram", "pagesize", "swap", "wiredmax", "shmseg"])
        var ram, pageSize, swap, wiredMax: Size?
        var shmSeg: UInt64?
        while let key = try reader.option(&grammar) {
            if key == "shmseg" {
                shmSeg = try reader.number("after 'shmseg='")
                continue
            }
            let size = try reader.size("after '\(key)='")
            switch key {
            case "ram": ram = size
            case "pagesize": pageSize = size
            case "swap": swap = size
            default: wiredMax = size
            }
        }
        return .machine(ram: ram, pageSize: pageSize, swap: swap, wiredMax: wiredMax, shmSeg: shmSeg)
    }

    private static func parsePolicy(_ reader: inout LineReader) throws(ScenarioError) -> Statement.Kind {
        let knob = try reader.dashedWord("a policy (modern or KNOB=VALUE) after 'policy'")
        guard reader.skip(.equals) != nil else { return .policy(knob: knob, value: "") }
        return .policy(knob: knob, value: try reader.dashedWord("a value after '\(knob)='"))
    }

    private static func parseFile(_ reader: inout LineReader) throws(ScenarioError) -> Statement.Kind {
        let name = try reader.name("a file name after 'file'")
        var grammar = OptionGrammar(statement: "file", keys: ["size", "fill", "badpage"])
        var size: Size?
        var fill: UInt8 = 0
        var badPage: UInt64?
        while let key = try reader.option(&grammar) {
            switch key {
            case "size": size = try reader.size("after 'size='")
            case "fill": fill = try reader.byte("after 'fill='")
            default: badPage = try reader.number("after 'badpage='")
            }
        }
        guard let size else { throw reader.failure(expected: "size=SIZE for 'file'") }
        return .file(name: name, size: size, fill: fill, badPage: badPage)
    }

    private static func parseDevice(_ reader: inout LineReader) throws(ScenarioError) -> Statement.Kind {
        let name = try reader.name("a device name after 'device'")
        var grammar = OptionGrammar(statement: "device", keys: ["pattern"])
        var pattern: UInt8 = 0xa5
        while try reader.option(&grammar) != nil {
            pattern = try reader.byte("after 'pattern='")
        }
        return .device(name: name, pattern: pattern)
    }

    private static func parseProc(_ reader: inout LineReader) throws(ScenarioError) -> Statement.Kind {
        let name = try processName(&reader, "a process name after 'proc'")
        var grammar = OptionGrammar(statement: "proc", keys: ["uid", "memlock"])
        var uid: UInt32 = 1000
        var memlock: Size?
        while let key = try reader.option(&grammar) {
            if key == "memlock" {
                memlock = try reader.size("after 'memlock='")
            } else {
                uid = try reader.number("after 'uid='", as: UInt32.self)
            }
        }
        return .proc(name: name, uid: uid, memlock: memlock)
    }

    private static func parseThread(_ reader: inout LineReader) throws(ScenarioError) -> Statement.Kind {
        let name = try processName(&reader, "a thread name after 'thread'")
        guard reader.skip(word: "in") != nil else { throw reader.failure(expected: "'in' after 'thread \(name)'") }
        return .thread(name: name, proc: try reader.name("a process name after 'in'"))
    }

    /// A name for a new process or thread. `kernel` is taken: it is the actor of kernel-only lines.
    static func processName(_ reader: inout LineReader, _ what: String) throws(ScenarioError) -> String {
        if let token = reader.current, token.kind == .word, token.text == "kernel" {
            throw reader.failure("expected \(what), found 'kernel', which names the kernel's own thread", at: token)
        }
        return try reader.name(what)
    }

    // MARK: Expectations

    private static func parseExpectation(_ reader: inout LineReader) throws(ScenarioError) -> Expectation.Kind {
        let what = try reader.keyword([("wired", "wired"), ("free", "free"), ("locked", "locked"),
                                       ("resident", "resident"), ("device", "device")], "after 'expect'")
        switch what {
        case "wired":
            var proc: String?
            if reader.current?.kind == .word { proc = try reader.name("a process name") }
            try equals(&reader, "expect wired")
            return .wired(proc: proc, try reader.size("after 'expect wired ='"))
        case "free":
            try equals(&reader, "expect free")
            return .free(try reader.size("after 'expect free ='"))
        case "locked", "resident":
            let proc = try reader.name("a process name after 'expect \(what)'")
            let address = try reader.address("after 'expect \(what) \(proc)'")
            let length = try reader.size("as the length of 'expect \(what)'")
            try equals(&reader, "expect \(what) PROC ADDR LEN")
            if what == "locked" {
                return .locked(proc: proc, address, length, try reader.keyword([("yes", true), ("no", false)], "after 'expect locked ... ='"))
            }
            return .resident(proc: proc, address, length, try reader.bits("after 'expect resident ... ='"))
        default:
            let name = try reader.name("a device name after 'expect device'")
            try equals(&reader, "expect device \(name)")
            return .device(name: name, try reader.byte("after 'expect device \(name) ='"))
        }
    }

    private static func equals(_ reader: inout LineReader, _ after: String) throws(ScenarioError) {
        _ = try reader.expect(.equals, "'=' after '\(after)'")
    }

    // MARK: Operations

    /// `ACTOR: [VAR =] OPERATION ARGS... [=> RESULT|RESULT...]`.
    private static func parseOperation(_ line: LineReader) throws(ScenarioError) -> Operation {
        let arrow = line.tokens.firstIndex { $0.kind == .arrow }
        var reader = LineReader(file: line.file, line: line.line, tokens: line.tokens, limit: arrow,
                                lineEnd: line.lineEnd, terminator: "'=>' or end of line")
        let actor = reader.tokens[0]
        _ = reader.skip(.word)
        _ = reader.skip(.colon)
        var binding: String?
        if reader.current?.kind == .word, reader.position + 1 < reader.limit, reader.tokens[reader.position + 1].kind == .equals {
            binding = try processName(&reader, "a variable")
            _ = reader.skip(.equals)
        }
        let command = try CommandParser.command(&reader, binding: binding)
        var operation = Operation(location: reader.location(of: actor), actor: actor.text, binding: binding, command: command)
        if let arrow {
            operation.expectedLocation = reader.location(of: reader.tokens[arrow])
            var results = LineReader(file: line.file, line: line.line, tokens: Array(line.tokens[(arrow + 1)...]),
                                     lineEnd: line.lineEnd)
            operation.expected = try parseResults(&results)
        }
        return operation
    }

    /// The alternatives after `=>`, separated by `|`.
    private static func parseResults(_ reader: inout LineReader) throws(ScenarioError) -> [ExpectedResult] {
        var results: [ExpectedResult] = []
        repeat {
            guard let token = reader.current, let result = try expectedResult(token, reader) else {
                throw reader.failure(expected: "a result (ok, an errno like EINVAL, SIGSEGV, SIGBUS, a byte like 0x42, page bits like 0110, or a number)")
            }
            results.append(result)
            _ = reader.skip(token.kind)
            if !reader.atEnd, reader.current?.kind != .bar {
                throw reader.failure(expected: "'|' or end of line after the result '\(token.text)'")
            }
        } while reader.skip(.bar) != nil
        return results
    }

    private static func expectedResult(_ token: Token, _ reader: LineReader) throws(ScenarioError) -> ExpectedResult? {
        if token.kind == .word {
            let capitals = { (rest: Substring) in !rest.isEmpty && rest.allSatisfy { ("A"..."Z").contains($0) || ("0"..."9").contains($0) } }
            if token.text == "ok" { return .ok }
            if token.text.hasPrefix("SIG"), capitals(token.text.dropFirst(3)) {
                guard ResultNames.signals.contains(token.text) else {
                    throw reader.failure("no signal is named '\(token.text)' (sys/signal.h: SIGSEGV, SIGBUS, SIGKILL, ...)", at: token)
                }
                return .signal(token.text)
            }
            if token.text.hasPrefix("E"), capitals(token.text.dropFirst()) {
                guard ResultNames.errnos.contains(token.text) else {
                    throw reader.failure("no errno is named '\(token.text)' (sys/errno.h: EINVAL, ENOMEM, EAGAIN, ...)", at: token)
                }
                return .errno(token.text)
            }
            return nil
        }
        if LineReader.isBits(token) { return .bits(token.text) }
        guard let (value, suffix) = try reader.numeral(token), suffix.isEmpty else { return nil }
        if token.text.hasPrefix("0x") || token.text.hasPrefix("0X"), let byte = UInt8(exactly: value) {
            return .byte(byte)
        }
        return .value(token.text)
    }
}
