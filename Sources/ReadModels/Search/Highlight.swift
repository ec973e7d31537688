import Commerce
import Foundation

extension SearchProjection {
    func hit(for candidate: Candidate, highlighting terms: Set<String>) -> SearchHit? {
        guard let goods = document(candidate.number), let id = goods.goodsId else { return nil }
        return SearchHit(
            goodsId: id.description, title: goods.title, highlight: Self.highlight(goods.title, terms: terms),
            brand: goods.brand, category: goods.category, tags: goods.tags, price: goods.price.minorUnits,
            available: goods.available, sold: goods.sold,
            rating: goods.ratingCount > 0 ? Double(goods.ratingTotal) / Double(goods.ratingCount) : nil,
            ratingCount: goods.ratingCount, listedAt: goods.listedAt?.millisecondsSinceEpoch ?? 0,
            matchedWords: candidate.matched, typos: candidate.typos, score: candidate.score)
    }

    /// `text` HTML-escaped, with the tokens whose term matched wrapped in `<em>`.
    static func highlight(_ text: String, terms: Set<String>) -> String {
        var ranges: [Range<String.Index>] = []
        for token in Tokenizer.tokens(text) where terms.contains(token.term) {
            if let last = ranges.last, last.upperBound >= token.range.lowerBound {
                ranges[ranges.count - 1] = last.lowerBound..<max(last.upperBound, token.range.upperBound)
            } else {
                ranges.append(token.range)
            }
        }
        var output = ""
        var cursor = text.startIndex
        for range in ranges {
            output += escape(text[cursor..<range.lowerBound]) + "<em>" + escape(text[range]) + "</em>"
            cursor = range.upperBound
        }
        return output + escape(text[cursor...])
    }

    static func escape(_ text: Substring) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "&": escaped += "&amp;"
            case "\"": escaped += "&quot;"
            default: escaped.append(character)
            }
        }
        return escaped
    }

}
