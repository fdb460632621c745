// Where a scenario file says something, and what is wrong with it when it cannot be run.

/// A position in a scenario file, counted as an editor counts it: lines and columns are one-based
/// and a column counts Unicode scalars, so a tab is one column.
public struct SourceLocation: Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// `FILE:LINE:COLUMN`, the form compilers use, so editors can jump to it; just `FILE` for the
    /// file as a whole (line 0: it could not be read, no line of it is to blame).
    public var description: String { line == 0 ? file : "\(file):\(line):\(column)" }
}

/// The first mistake in a scenario file. A scenario with a mistake does not run at all, so the
/// parser stops at the first one rather than guessing what was meant and reporting knock-on errors.
public struct ScenarioError: Error, Hashable, Sendable, CustomStringConvertible {
    public var location: SourceLocation
    /// What was expected at `location` and what was found there instead.
    public var message: String

    public init(location: SourceLocation, message: String) {
        self.location = location
        self.message = message
    }

    /// `FILE:LINE:COLUMN: message`.
    public var description: String { "\(location): \(message)" }
}
