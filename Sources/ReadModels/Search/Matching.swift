import Commerce
import Foundation

extension SearchProjection {
    /// The query's words; the last Latin word also matches as a prefix (search as you type) unless the query ends with a space.
    func words(of text: String) -> [WordMatch] {
        let tokens = Array(Tokenizer.tokens(text).prefix(SearchLimits.queryWordsMax))
        let typing = !(text.last?.isWhitespace ?? true)
        return tokens.enumerated().map { offset, token in
            var alternatives: [(String, Int, Bool)] = []
            if index.postings[token.term] != nil { alternatives.append((token.term, 0, false)) }
            if offset == tokens.count - 1, typing {
                for term in index.terms(startingWith: token.term, limit: SearchLimits.prefixExpansionsMax) where term != token.term {
                    alternatives.append((term, 0, true))
                }
            }
            if !token.isCJK {
                for (term, typos) in index.typoCandidates(of: token.term).prefix(SearchLimits.prefixExpansionsMax) {
                    alternatives.append((term, typos, false))
                }
            }
            return WordMatch(word: token.term, alternatives: alternatives)
        }
    }

    /// Goods matching every word into `work.candidates`; when none does, goods matching the most words
    /// (Meilisearch's "last" strategy). Scores accumulate in per-goods slots, not dictionaries.
    func match(_ words: [WordMatch], _ work: inout MatchScratch.Work) {
        var stamp = work.firstStamp
        let query = stamp
        let scorer = BM25(index)
        for word in words {
            stamp += 1
            work.wordTouched.removeAll(keepingCapacity: true)
            // A typo could have meant several words: the ones the shop uses most are the likelier ("angls" → angels, not
            // Angus). Every correction is weighed with the commonest one's rarity (a rare word would otherwise win by being
            // rare), times its share of the commonest one's goods.
            let corrections = word.alternatives.filter { $0.typos > 0 }.map { (term: $0.term, goods: index.postings[$0.term]?.count ?? 0) }
            let commonest = corrections.max { $0.goods < $1.goods }
            let correctionIdf = commonest.map { index.inverseDocumentFrequency($0.term) } ?? 0
            for alternative in word.alternatives {
                guard let postings = index.postings[alternative.term] else { continue }
                let idf = alternative.typos > 0 ? correctionIdf : index.inverseDocumentFrequency(alternative.term)
                // Exact beats prefix beats typo within the same ranking step.
                let penalty =
                    alternative.prefix
                    ? 0.9
                    : alternative.typos == 0
                        ? 1.0 : 0.6 / Double(alternative.typos) * Double(postings.count) / Double(max(commonest?.goods ?? 1, 1))
                let typos = Int16(alternative.typos)
                let prefix = alternative.prefix
                for posting in postings {
                    let number = Int(posting.number)
                    let score = scorer.score(number, posting.counts, idf) * penalty
                    let slot = work.slots[number]
                    if slot.wordStamp != stamp {
                        work.slots[number].wordStamp = stamp
                        work.slots[number].wordScore = score
                        work.slots[number].wordTypos = typos
                        work.slots[number].wordPrefix = prefix
                        work.wordTouched.append(posting.number)
                    } else if (typos, prefix ? 1 : 0, -score) < (slot.wordTypos, slot.wordPrefix ? 1 : 0, -slot.wordScore) {
                        // Fewer typos, then the exact word over a longer one it begins, then the better score.
                        work.slots[number].wordScore = score
                        work.slots[number].wordTypos = typos
                        work.slots[number].wordPrefix = prefix
                    }
                }
            }
            for touched in work.wordTouched {
                let number = Int(touched)
                if work.slots[number].queryStamp != query {
                    work.slots[number].queryStamp = query
                    work.slots[number].matched = 0
                    work.slots[number].typos = 0
                    work.slots[number].prefixed = 0
                    work.slots[number].score = 0
                    work.touched.append(touched)
                }
                work.slots[number].matched += 1
                work.slots[number].typos += work.slots[number].wordTypos
                if work.slots[number].wordPrefix { work.slots[number].prefixed += 1 }
                work.slots[number].score += work.slots[number].wordScore
            }
        }
        var most: Int16 = 0
        for number in work.touched { most = max(most, work.slots[Int(number)].matched) }
        for number in work.touched where work.slots[Int(number)].matched == most {
            let slot = work.slots[Int(number)]
            work.candidates.append(
                Candidate(
                    number: number, matched: Int(slot.matched), typos: Int(slot.typos), prefixed: Int(slot.prefixed), score: slot.score))
        }
    }

    /// The query with each word that matched nothing itself replaced by its most common typo correction.
    func correction(_ words: [WordMatch]) -> String? {
        var corrected = false
        let fixed = words.map { word -> String in
            guard !word.alternatives.contains(where: { $0.typos == 0 }) else { return word.word }
            let best = word.alternatives.min {
                ($0.typos, -(index.postings[$0.term]?.count ?? 0), $0.term) < ($1.typos, -(index.postings[$1.term]?.count ?? 0), $1.term)
            }
            guard let best else { return word.word }
            corrected = true
            return best.term
        }
        return corrected ? fixed.joined(separator: " ") : nil
    }

}
