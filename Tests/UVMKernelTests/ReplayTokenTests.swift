// Replay tokens carry every scheduling choice exactly, however many threads were runnable.

import Testing
import UVMRunner

@Suite struct ReplayTokenTests {
    @Test func choicesRoundTripIncludingThoseAbove35() {
        let choices = [0, 1, 35, 36, 40, 1000, 9, 0]
        let token = ReplayToken.encode(choices, origin: "r17")
        #expect(token == "t1-r17.01z{36}{40}{1000}90")
        #expect(ReplayToken.decode(token) == choices)
    }

    @Test func malformedTokensAreRefused() {
        #expect(ReplayToken.decode("t1.0{12") == nil)
        #expect(ReplayToken.decode("t1.{7}") == nil, "a small choice has one digit, not braces")
        #expect(ReplayToken.decode("t1.0A") == nil)
        #expect(ReplayToken.decode("x1.00") == nil)
        #expect(ReplayToken.decode("t1-d.") == [])
    }
}
