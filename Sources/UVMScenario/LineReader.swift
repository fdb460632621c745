// Reading one line's tokens as typed values. Every failure is reported at the column of the token
// that is wrong (or at the end of the line when something is missing) and says what was expected
// there, in the words docs/scenario-language.md uses.

/// The argument types, as the messages name them.
enum Expected {
    static let size = "a SIZE (like 4K, 2p, 0x1000)"
    static let byte = "a BYTE (like 0x42)"
    static let number = "a number (like 1000 or 0x10)"
    static let address = "an ADDR (like buf, buf+2p, 0x10000)"
    static let protection = "a PROT (r, w, x, rw, rx, wx, rwx or none)"
    static let bits = "page bits (a 0 or 1 per page, like 0110)"
}

/// A cursor over the tokens of one line.
struct LineReader {
    let file: String
    let line: Int
    let tokens: [Token]
    /// The index just past the statement's own tokens: an operation's `=>` is not an argument.
    let limit: Int
    /// The column just past the line's last token, where "found end of line" points.
    let lineEnd: Int
    /// What may legitimately follow the statement, for the message about anything else.
    let terminator: String
    private(set) var position = 0

    init(file: String, line: Int, tokens: [Token], limit: Int? = nil, lineEnd: Int, terminator: String = "end of line") {
        self.file = file
        self.line = line
        self.tokens = tokens
        self.limit = limit ?? tokens.count
        self.lineEnd = lineEnd
        self.terminator = terminator
    }

    var atEnd: Bool { position >= limit }

    /// The next token of the statement, nil at its end.
    var current: Token? { atEnd ? nil : tokens[position] }

    /// The location of `token`, or of the reader's position when nil.
    func location(of token: Token? = nil) -> SourceLocation {
        let column = token?.column ?? (position < tokens.count ? tokens[position].column : lineEnd)
        return SourceLocation(file: file, line: line, column: column)
    }

    /// "expected WHAT, found X", at the reader's position.
    func failure(expected what: String) -> ScenarioError {
        let found = position < tokens.count ? "'\(tokens[position].text)'" : "end of line"
        return ScenarioError(location: location(), message: "expected \(what), found \(found)")
    }

    func failure(_ message: String, at token: Token) -> ScenarioError {
        ScenarioError(location: location(of: token), message: message)
    }

    /// Consumes the current token if it has `kind`.
    mutating func skip(_ kind: Token.Kind) -> Token? {
        guard let token = current, token.kind == kind else { return nil }
        position += 1
        return token
    }

    /// Consumes the current token if it is the word `word`.
    mutating func skip(word: String) -> Token? {
        guard let token = current, token.kind == .word, token.text == word else { return nil }
        position += 1
        return token
    }

    mutating func expect(_ kind: Token.Kind, _ what: String) throws(ScenarioError) -> Token {
        guard let token = skip(kind) else { throw failure(expected: what) }
        return token
    }

    /// A name: a process, thread, file, device, variable or handle.
    mutating func name(_ what: String) throws(ScenarioError) -> String {
        try expect(.word, what).text
    }

    /// One of a fixed set of words, listed in the message in the order given.
    mutating func keyword<Value>(_ choices: [(String, Value)], _ role: String) throws(ScenarioError) -> Value {
        if let token = current, token.kind == .word, let choice = choices.first(where: { $0.0 == token.text }) {
            position += 1
            return choice.1
        }
        throw failure(expected: "\(Self.list(choices.map(\.0), "or")) \(role)")
    }

    /// One of `choices`, or the raw value as a number: a system call's argument as the kernel
    /// sees it, so that a value it refuses can be written.
    mutating func rawValue<Value: RawArgument>(_ choices: [(String, Value)], _ role: String) throws(ScenarioError) -> Value {
        if current?.kind == .number { return Value(rawValue: try number(role)) }
        guard let token = current, token.kind == .word, let choice = choices.first(where: { $0.0 == token.text }) else {
            throw failure(expected: "\(Self.list(choices.map(\.0) + ["a number"], "or")) \(role)")
        }
        position += 1
        return choice.1
    }

    /// Fails unless the statement has been read to its end.
    func finish(_ statement: String) throws(ScenarioError) {
        if !atEnd { throw failure(expected: "\(terminator) after the arguments of '\(statement)'") }
    }

    /// `a, b or c`.
    static func list(_ words: [String], _ conjunction: String) -> String {
        guard let last = words.last, words.count > 1 else { return words.first ?? "" }
        return words.dropLast().joined(separator: ", ") + " \(conjunction) " + last
    }
}

// MARK: - Numbers

extension LineReader {
    /// The value of a number token and the letters after its digits, or nil if `token` is not a
    /// number or has no digits where its value should be (`0x`, `0xg`).
    func numeral(_ token: Token) throws(ScenarioError) -> (value: UInt64, suffix: Substring)? {
        guard token.kind == .number else { return nil }
        var rest = Substring(token.text)
        var radix = 10
        if rest.hasPrefix("0x") || rest.hasPrefix("0X") {
            rest = rest.dropFirst(2)
            radix = 16
        }
        let digits = rest.prefix { ($0.hexDigitValue ?? radix) < radix }
        guard !digits.isEmpty else { return nil }
        // The digits are valid, so a nil here can only be an overflow.
        guard let value = UInt64(digits, radix: radix) else {
            throw failure("number '\(token.text)' does not fit in 64 bits", at: token)
        }
        return (value, rest.dropFirst(digits.count))
    }

    /// A SIZE. A `K`, `M` or `G` size beyond 64 bits of bytes is rejected here; a size in pages
    /// can only be checked once the page size is known.
    mutating func size(_ role: String) throws(ScenarioError) -> Size {
        guard let token = current, let (value, suffix) = try numeral(token) else {
            throw failure(expected: "\(Expected.size) \(role)")
        }
        let unit: SizeUnit
        switch suffix {
        case "": unit = .bytes
        case "p": unit = .pages
        case "K": unit = .kib
        case "M": unit = .mib
        case "G": unit = .gib
        default: throw failure(expected: "\(Expected.size) \(role)")
        }
        let size = Size(value, unit)
        if unit != .pages, size.bytes(pageSize: 1) == nil {
            throw failure("size '\(token.text)' does not fit in 64 bits of bytes", at: token)
        }
        position += 1
        return size
    }

    /// A number without a unit, which must fit in `Value`.
    mutating func number<Value: FixedWidthInteger & UnsignedInteger>(
        _ role: String, as type: Value.Type = UInt64.self
    ) throws(ScenarioError) -> Value {
        guard let token = current, let (value, suffix) = try numeral(token), suffix.isEmpty else {
            throw failure(expected: "\(Expected.number) \(role)")
        }
        guard let narrow = Value(exactly: value) else {
            throw failure("expected a number up to \(Value.max) \(role), found '\(token.text)'", at: token)
        }
        position += 1
        return narrow
    }

    /// A BYTE: a number up to 0xff.
    mutating func byte(_ role: String) throws(ScenarioError) -> UInt8 {
        guard let token = current, let (value, suffix) = try numeral(token), suffix.isEmpty else {
            throw failure(expected: "\(Expected.byte) \(role)")
        }
        guard let byte = UInt8(exactly: value) else {
            throw failure("expected \(Expected.byte) \(role), found '\(token.text)', which is more than 0xff", at: token)
        }
        position += 1
        return byte
    }

    /// Page bits, as `mincore` prints them: decimal digits, each 0 or 1.
    mutating func bits(_ role: String) throws(ScenarioError) -> String {
        guard let token = current, Self.isBits(token) else { throw failure(expected: "\(Expected.bits) \(role)") }
        position += 1
        return token.text
    }

    static func isBits(_ token: Token) -> Bool {
        token.kind == .number && token.text.allSatisfy { $0 == "0" || $0 == "1" }
    }
}

// MARK: - Addresses, protections, policy words

extension LineReader {
    /// An ADDR: a variable or a number of bytes, then any number of `+SIZE` or `-SIZE`.
    mutating func address(_ role: String) throws(ScenarioError) -> Address {
        guard let token = current else { throw failure(expected: "\(Expected.address) \(role)") }
        let base: Address.Base
        if token.kind == .word {
            base = .variable(token.text)
        } else if let (value, suffix) = try numeral(token), suffix.isEmpty {
            base = .literal(value)
        } else {
            throw failure(expected: "\(Expected.address) \(role)")
        }
        position += 1
        var offsets: [SignedSize] = []
        while let sign = skip(.plus) ?? skip(.minus) {
            let size = try size("after '\(sign.text)' in an ADDR")
            offsets.append(SignedSize(negative: sign.kind == .minus, size: size))
        }
        return Address(base: base, offsets: offsets, location: location(of: token))
    }

    mutating func protection(_ role: String) throws(ScenarioError) -> Protection {
        guard let token = current, token.kind == .word, let protection = Protection(spelling: token.text) else {
            throw failure(expected: "\(Expected.protection) \(role)")
        }
        position += 1
        return protection
    }

    /// A policy knob or value: words or numbers joined by `-` with no space between, since the
    /// knobs are spelled `wire-loan`, `vnode-fault=busy-then-lock`.
    mutating func dashedWord(_ what: String) throws(ScenarioError) -> String {
        guard let first = current, first.kind == .word || first.kind == .number else { throw failure(expected: what) }
        position += 1
        var text = first.text
        var end = first.endColumn
        while position + 1 < limit, tokens[position].kind == .minus, tokens[position].column == end {
            let part = tokens[position + 1]
            guard part.kind == .word || part.kind == .number, part.column == end + 1 else { break }
            text += "-" + part.text
            end = part.endColumn
            position += 2
        }
        return text
    }
}

// MARK: - Options

/// The optional arguments a statement takes after its positional ones: `key=VALUE` pairs and bare
/// words, in any order, each at most once.
struct OptionGrammar {
    /// The statement, for messages (`mmap anon`).
    var statement: String
    /// The keys written `key=VALUE`.
    var keys: [String]
    /// Bare words, each with the option it sets: `shared` and `private` set the same one, so
    /// giving both is an error like giving one twice.
    var flags: [(word: String, option: String)] = []
    /// The token that gave each option so far, by option.
    var given: [String: Token] = [:]

    /// How the message lists the options: `prot=, maxprot=, shared, private`.
    var summary: String {
        (keys.map { "\($0)=" } + flags.map(\.word)).joined(separator: ", ")
    }
}

extension LineReader {
    /// Reads the next option and returns its key or flag word, or nil at the end of the statement.
    /// For a `key=VALUE` option the `=` is consumed, so the reader stands on the value.
    mutating func option(_ grammar: inout OptionGrammar) throws(ScenarioError) -> String? {
        guard let token = current else { return nil }
        let option: String
        if token.kind == .word, grammar.keys.contains(token.text) {
            option = token.text
        } else if token.kind == .word, let flag = grammar.flags.first(where: { $0.word == token.text }) {
            option = flag.option
        } else {
            throw failure(expected: "an option of '\(grammar.statement)' (\(grammar.summary)) or \(terminator)")
        }
        if let earlier = grammar.given[option] {
            let message = earlier.text == token.text
                ? "expected each option once, found '\(token.text)' again (first at column \(earlier.column))"
                : "expected only one of \(option), found '\(token.text)' after '\(earlier.text)' at column \(earlier.column)"
            throw failure(message, at: token)
        }
        grammar.given[option] = token
        position += 1
        if grammar.keys.contains(token.text) {
            _ = try expect(.equals, "'=' after '\(token.text)'")
        }
        return token.text
    }
}
