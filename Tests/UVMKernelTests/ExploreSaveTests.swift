// `uvm explore --save DIR`: the shrunk scenario is written, and the token printed beside it
// replays its BUG on that file (and only there: on the whole file it is refused).

import Foundation
import Testing

@Suite(.serialized) struct ExploreSaveTests {
    @Test func theSavedShrunkScenarioReplaysWithItsOwnToken() throws {
        let dir = NSTemporaryDirectory() + "uvm-save-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let catalogEntry = CommandBudgetTests.catalog.appendingPathComponent("W01-truncate-under-physio.uvm").path
        let explore = try UVMExecutable.run(["explore", catalogEntry, "--policy", "truncate=free", "--audit", "--save", dir])
        #expect(explore.status == 2)
        #expect(explore.output.contains("timeline (operation level"))
        let saved = dir + "/W01-truncate-under-physio.shrunk.uvm"
        let line = try #require(explore.output.split(separator: "\n").first { $0.hasPrefix("the shrunk scenario, saved as \(saved): ") })
        let words = line.split(separator: " ").map(String.init)
        let token = try #require(words.firstIndex(of: "replay").map { words[$0 + 2] })
        #expect(line.hasSuffix("--audit --policy truncate=free"), "the replay keeps --audit and the policy")
        let text = try String(contentsOfFile: saved, encoding: .utf8)
        #expect(text.split(separator: "\n").count < (try String(contentsOfFile: catalogEntry, encoding: .utf8)).split(separator: "\n").count)
        let replay = try UVMExecutable.run(["replay", saved, token, "--audit", "--policy", "truncate=free"])
        #expect(replay.status == 2)
        #expect(replay.output.contains("BUG use-after-free"))
        let misapplied = try UVMExecutable.run(["replay", catalogEntry, token, "--audit", "--policy", "truncate=free"])
        #expect(misapplied.status == 64, "a token made for the saved file is refused on the whole one")
    }
}
