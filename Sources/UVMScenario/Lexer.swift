// The lexer: splits a scenario into lines and a line into tokens. The language is line-based,
// so a token never spans lines and a statement's end is simply the end of its line.

/// One token of a line.
struct Token: Sendable {
    enum Kind: Sendable {
        /// A name or keyword: `[A-Za-z_][A-Za-z0-9_.]*`.
        case word
        /// A digit and the name characters after it (`4K`, `0x1000`, `0110`); the parser decides
        /// whether it is a SIZE, a BYTE or bits.
        case number
        case equals, arrow, colon, bar, plus, minus, comma
    }

    var kind: Kind
    var text: String
    /// One-based, in Unicode scalars.
    var column: Int

    /// The column just past the token.
    var endColumn: Int { column + text.unicodeScalars.count }
}

enum Lexer {
    /// The lines of `text`, without their terminators. A `\r` before the `\n` and a byte-order
    /// mark at the start are dropped, so files saved by Windows editors parse the same. Unicode
    /// scalars are used because Swift treats `\r\n` as one Character.
    static func lines(of text: String) -> [[Unicode.Scalar]] {
        var lines: [[Unicode.Scalar]] = []
        var current: [Unicode.Scalar] = []
        for scalar in text.unicodeScalars.drop(while: { $0 == "\u{FEFF}" }) {
            if scalar == "\n" {
                if current.last == "\r" { current.removeLast() }
                lines.append(current)
                current = []
            } else {
                current.append(scalar)
            }
        }
        if !current.isEmpty { lines.append(current) }
        return lines
    }

    /// The tokens of one line, up to a `#` comment.
    static func tokens(of line: [Unicode.Scalar], at location: SourceLocation) throws(ScenarioError) -> [Token] {
        var tokens: [Token] = []
        var index = 0
        while index < line.count {
            let scalar = line[index]
            let start = index
            index += 1
            let kind: Token.Kind
            switch scalar {
            case " ", "\t":
                continue
            case "#":
                return tokens
            case "=" where index < line.count && line[index] == ">":
                index += 1
                kind = .arrow
            case "=": kind = .equals
            case ":": kind = .colon
            case "|": kind = .bar
            case "+": kind = .plus
            case "-": kind = .minus
            case ",": kind = .comma
            case _ where isNameStart(scalar) || isDigit(scalar):
                // A number takes the same characters as a name after its first digit, so `1.5M`
                // or `4KB` is reported whole as a bad number rather than as a number and junk.
                while index < line.count, isNameStart(line[index]) || isDigit(line[index]) || line[index] == "." {
                    index += 1
                }
                kind = isDigit(scalar) ? .number : .word
            default:
                var here = location
                here.column = start + 1
                throw ScenarioError(
                    location: here,
                    message: "expected a name, a number or one of '=' '=>' ':' '|' '+' '-' ',', found '\(Character(scalar))'")
            }
            var text = String.UnicodeScalarView()
            text.append(contentsOf: line[start..<index])
            tokens.append(Token(kind: kind, text: String(text), column: start + 1))
        }
        return tokens
    }

    private static func isNameStart(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || scalar == "_"
    }

    private static func isDigit(_ scalar: Unicode.Scalar) -> Bool {
        ("0"..."9").contains(scalar)
    }
}
