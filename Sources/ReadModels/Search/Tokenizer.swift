import Foundation

/// Splits text into search terms. Latin (and other alphabetic) words are
/// case-folded, diacritic-folded and width-folded (`Café` → `cafe`, `ＵＳＢ`
/// → `usb`); runs of CJK characters become overlapping bigrams (`龙井绿茶` →
/// `龙井 井绿 绿茶`), so a two-character query finds every text containing
/// it, and a lone CJK character is its own term.
public enum Tokenizer {
    public struct Token: Hashable, Sendable {
        public var term: String
        /// Where the token came from in the original text (for highlights).
        public var range: Range<String.Index>
        public var isCJK: Bool
    }

    /// Words longer than this are cut (a limit on what one term may cost).
    public static let termCharactersMax = 40

    /// The terms of `text` with where each came from (for highlights).
    public static func tokens(_ text: String) -> [Token] {
        var copy = text
        let (terms, spans) = copy.withUTF8 { bytes in
            var scanner = TermScanner(bytes: bytes, recordsSpans: true)
            scanner.scan()
            return (scanner.terms, scanner.spans)
        }
        let utf8 = text.utf8
        func index(_ offset: Int) -> String.Index { utf8.index(utf8.startIndex, offsetBy: offset) }
        return zip(terms, spans).map { term, span in Token(term: term, range: index(span.start)..<index(span.end), isCJK: span.isCJK) }
    }

    /// The terms alone: what indexing needs.
    public static func terms(_ text: String) -> [String] {
        var text = text
        return text.withUTF8 { bytes in
            var scanner = TermScanner(bytes: bytes, recordsSpans: false)
            scanner.scan()
            return scanner.terms
        }
    }

    /// Reads the UTF-8 bytes by scalar, deciding ASCII without Unicode tables (titles are mostly ASCII
    /// and CJK); ASCII words are lowercased byte by byte, only words with other letters go through
    /// `fold`. A struct with mutating methods: nested functions capturing the same variables cost a
    /// dynamic exclusivity check per access.
    private struct TermScanner {
        let bytes: UnsafeBufferPointer<UInt8>
        let recordsSpans: Bool
        var terms: [String] = []
        /// Byte offsets of each term's source, when `recordsSpans`.
        var spans: [(start: Int, end: Int, isCJK: Bool)] = []
        var wordStart = -1
        var wordIsASCII = true
        /// The CJK run being read, with each scalar's byte offset.
        var run: [(scalar: Unicode.Scalar, offset: Int)] = []

        init(bytes: UnsafeBufferPointer<UInt8>, recordsSpans: Bool) {
            self.bytes = bytes
            self.recordsSpans = recordsSpans
        }

        mutating func add(_ term: String, _ start: Int, _ end: Int, isCJK: Bool) {
            terms.append(term)
            if recordsSpans { spans.append((start, end, isCJK)) }
        }

        mutating func scan() {
            var index = 0
            while index < bytes.count {
                let byte = bytes[index]
                if byte < 0x80 {
                    if !run.isEmpty { closeRun(at: index) }
                    let isWordByte = (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                    if isWordByte {
                        if wordStart < 0 { wordStart = index; wordIsASCII = true }
                    } else if wordStart >= 0 {
                        closeWord(at: index)
                    }
                    index += 1
                    continue
                }
                let (scalar, length) = decodeScalar(bytes, at: index)
                if isCJK(scalar) {
                    closeWord(at: index)
                    run.append((scalar, index))
                } else if scalar.properties.isAlphabetic || scalar.properties.numericType != nil
                    || scalar.properties.generalCategory == .nonspacingMark
                {
                    closeRun(at: index)
                    if wordStart < 0 { wordStart = index }
                    wordIsASCII = false
                } else {
                    closeWord(at: index)
                    closeRun(at: index)
                }
                index += length
            }
            closeWord(at: bytes.count)
            closeRun(at: bytes.count)
        }

        mutating func closeWord(at end: Int) {
            guard wordStart >= 0 else { return }
            let start = wordStart
            let word = UnsafeBufferPointer(rebasing: bytes[start..<end])
            wordStart = -1
            if wordIsASCII {
                let kept = min(word.count, termCharactersMax)  // ASCII: a character is a byte
                add(
                    String(unsafeUninitializedCapacity: kept) { out in
                        for index in 0..<kept {
                            let byte = word[index]
                            out[index] = byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
                        }
                        return kept
                    }, start, end, isCJK: false)
            } else {
                let term = fold(String(decoding: word, as: UTF8.self))
                if !term.isEmpty { add(String(term.prefix(termCharactersMax)), start, end, isCJK: false) }
            }
        }

        /// A lone CJK character is its own term; a longer run becomes overlapping bigrams.
        mutating func closeRun(at end: Int) {
            guard let first = run.first else { return }
            if run.count == 1 {
                add(String(Character(first.scalar)), first.offset, end, isCJK: true)
            } else {
                for index in 0..<(run.count - 1) {
                    var term = String.UnicodeScalarView()
                    term.append(run[index].scalar)
                    term.append(run[index + 1].scalar)
                    add(String(term), run[index].offset, index + 2 < run.count ? run[index + 2].offset : end, isCJK: true)
                }
            }
            run.removeAll(keepingCapacity: true)
        }
    }

    /// The scalar starting at `index` of valid UTF-8 (a Swift string's), and its length in bytes.
    private static func decodeScalar(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> (Unicode.Scalar, Int) {
        let lead = UInt32(bytes[index])
        let length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2
        var value = lead & (length == 2 ? 0x1F : length == 3 ? 0x0F : 0x07)
        for offset in 1..<length where index + offset < bytes.count { value = value << 6 | (UInt32(bytes[index + offset]) & 0x3F) }
        return (Unicode.Scalar(value) ?? "\u{FFFD}", length)
    }

    /// Lowercase without accents or width variants.
    public static func fold(_ text: some StringProtocol) -> String {
        if text.utf8.allSatisfy({ $0 < 0x80 }) { return text.lowercased() }  // plain ASCII: the common case, and much cheaper
        return String(text).folding(options: [.caseInsensitive, .diacriticInsensitive, .widthInsensitive], locale: nil).lowercased()
    }

    /// Han ideographs, kana and hangul: scripts written without spaces between words.
    public static func isCJK(_ character: Character) -> Bool {
        guard let scalar = character.unicodeScalars.first else { return false }
        return isCJK(scalar)
    }

    public static func isCJK(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x3040...0x30FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xAC00...0xD7AF, 0xF900...0xFAFF, 0x20000...0x2FA1F: return true
        default: return false
        }
    }

    /// The edit distance between `a` and `b` (insertions, deletions,
    /// substitutions and adjacent swaps), or nil when it exceeds `limit`.
    public static func distance(_ a: [UInt8], _ b: [UInt8], limit: Int) -> Int? {
        if abs(a.count - b.count) > limit { return nil }
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) <= limit ? max(a.count, b.count) : nil }
        var before = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            var rowMinimum = current[0]
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                var value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { value = min(value, before[j - 2] + 1) }
                current[j] = value
                rowMinimum = min(rowMinimum, value)
            }
            if rowMinimum > limit { return nil }
            (before, previous, current) = (previous, current, before)
        }
        return previous[b.count] <= limit ? previous[b.count] : nil
    }

    /// Typos allowed in a query word of `length` characters: 1 from 5, 2 from 9.
    public static func typosAllowed(length: Int) -> Int { length >= 9 ? 2 : length >= 5 ? 1 : 0 }
}
