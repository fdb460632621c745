// Helpers shared by the scenario-language tests: every test parses text named `test.uvm`.
// Testing declares its own SourceLocation and Expectation, so these tests qualify ours.

import Testing
@testable import UVMScenario

let testFile = "test.uvm"

func at(_ line: Int, _ column: Int) -> UVMScenario.SourceLocation {
    UVMScenario.SourceLocation(file: testFile, line: line, column: column)
}

func parse(_ text: String) throws(ScenarioError) -> Scenario {
    try ScenarioParser.parse(text, file: testFile)
}

/// The statements of `text`, which must parse; a failure is recorded, not thrown, so a table of
/// cases reports every bad row.
func statements(_ text: String) -> [Statement] {
    do {
        return try parse(text).statements
    } catch {
        Issue.record("\(error)")
        return []
    }
}

/// The single operation on the first line of `text`.
func operation(_ text: String) -> Operation? {
    guard case .operation(let operation)? = statements(text).first?.kind else {
        Issue.record("'\(text)' is not an operation")
        return nil
    }
    return operation
}

/// The error parsing `text` throws, or nil (recorded as an issue) if it parses.
func failure(_ text: String) -> ScenarioError? {
    do {
        _ = try parse(text)
        Issue.record("'\(text)' parsed, expected an error")
        return nil
    } catch {
        return error
    }
}

/// An ADDR on line 1: a variable at `column` plus offsets.
func variable(_ name: String, _ column: Int, _ offsets: SignedSize...) -> Address {
    Address(base: .variable(name), offsets: offsets, location: at(1, column))
}

func plus(_ value: UInt64, _ unit: SizeUnit = .bytes) -> SignedSize {
    SignedSize(negative: false, size: Size(value, unit))
}

func minus(_ value: UInt64, _ unit: SizeUnit = .bytes) -> SignedSize {
    SignedSize(negative: true, size: Size(value, unit))
}
