//! The bot's brain: one visitor message (with what the matcher remembers of its conversation) in,
//! one explained `Decision` out. Pure and synchronous: everything it needs is built once by
//! `Matcher::build` from a `KnowledgeBase`; `decide` does no I/O and takes microseconds.
//!
//! Order of a turn: normalise (fold, contractions, typos, stems, synonyms) -> intent rules ->
//! FAQ scoring (`faq_scorer`: tantivy BM25 retrieval + a logistic-regression model, confidence) ->
//! frustration meter -> policy (thresholds from `rules.toml`).

mod classifier;
mod dictionary;
mod embedding;
mod faq_index;
mod faq_scorer;
mod fold;
pub(crate) mod frustration;
mod handoff;
mod language;
pub(crate) mod normalize;
mod phrases;
mod policy;
mod spelling;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

pub use frustration::{Memory, Signal};
pub use policy::{Candidate, Decision, Explanation, HandoffReason, Source};

use crate::knowledge_base::{FaqId, HandoffMode, KnowledgeBase, RuleAction, RuleScope};
use faq_scorer::{FaqScorer, Phrasing};
use frustration::Meter;
use normalize::{Analyzed, Normalizer};
use phrases::{PhraseHit, PhraseSet};
use spelling::Speller;

/// Bytes held by the spelling dictionary of `language` (loading it if it is not yet), when we
/// ship one: what a language of the knowledge base costs in memory (BENCHMARKS.md).
pub fn dictionary_bytes(language: &str) -> Option<usize> {
    dictionary::for_language(language).map(dictionary::Dictionary::heap_bytes)
}

/// Options offered in a clarify decision.
const MAX_OPTIONS: usize = 3;

/// A knowledge base compiled for matching.
pub struct Matcher {
    kb: KnowledgeBase,
    normalizer: Normalizer,
    speller: Speller,
    rules: PhraseSet,
    /// Asking for a person in one's own words.
    intent: handoff::Intent,
    meter: Meter,
    scorer: FaqScorer,
    by_id: HashMap<FaqId, usize>,
    /// FAQs (by index) with a phrasing that itself asks for a person ("can I talk to customer
    /// service"): the editor's own answer to that request.
    answers_asking: Vec<bool>,
    /// Terms an editor wrote alone as a phrasing (a title or question of one word): a visitor
    /// who writes just that word gets that FAQ, not a "which do you mean".
    said_alone: HashSet<String>,
    /// One matcher per other language of the knowledge base, in its declared order.
    translations: Vec<Matcher>,
    /// Picks a message's language among this one and the translations' (none with one
    /// language).
    chooser: Option<language::Chooser>,
    /// The folded words this language's knowledge base knows (phrasings, titles, function
    /// words): evidence of a message's language.
    lexicon: Vec<String>,
}

/// The result of one turn.
#[derive(Debug, Clone)]
pub struct Turn {
    pub decision: Decision,
    pub explanation: Explanation,
    /// What to remember for the conversation's next turn.
    pub memory: Memory,
}

/// What one half of a two-question message asks: its FAQ, whether it was answered (not only
/// offered in a "did you mean"), the other options, and the explanation.
struct Half {
    faq: FaqId,
    answered: bool,
    others: Vec<FaqId>,
    offer_human: bool,
    explanation: Explanation,
}

/// Words of a half that can be a question on its own.
const MIN_HALF_WORDS: usize = 3;

/// How a message joins two questions in each language: the words between them (" and ",
/// " also ") and the words a question starts with (folded: "donde" for "dónde"). English for a
/// language not listed.
fn joins(language: &str) -> (&'static [&'static str], &'static [&'static str]) {
    match language {
        "de" => (
            &[" und ", " außerdem ", " sowie ", " auch "],
            &[
                "wie", "was", "wann", "wo", "wohin", "warum", "wer", "welche", "welcher",
                "welches", "kann", "konnen", "konnt", "ist", "sind", "gibt", "habe", "haben",
                "hat", "wird", "werden", "ich", "mein", "meine", "muss", "darf", "bekomme",
            ],
        ),
        "es" => (
            &[" y ", " además ", " también "],
            &[
                "como", "que", "cuando", "donde", "por", "quien", "cual", "cuanto", "cuanta",
                "cuantos", "puedo", "puede", "pueden", "podeis", "hay", "es", "esta", "estan",
                "mi", "quiero", "tengo", "necesito", "se",
            ],
        ),
        "fr" => (
            &[" et ", " aussi "],
            &[
                "comment", "que", "quoi", "quand", "ou", "pourquoi", "qui", "quel", "quelle",
                "quels", "est", "puis", "pouvez", "peut", "je", "mon", "ma", "mes", "combien",
            ],
        ),
        "nl" => (
            &[" en ", " ook "],
            &[
                "hoe", "wat", "wanneer", "waar", "waarom", "wie", "welke", "kan", "kunnen", "kunt",
                "is", "zijn", "ik", "mijn", "heb", "hebben", "wordt",
            ],
        ),
        _ => (
            &[" and ", " also ", " plus "],
            &[
                "how", "what", "whats", "when", "where", "wheres", "why", "who", "which", "can",
                "could", "do", "does", "did", "is", "are", "will", "would", "should", "may", "i",
                "im", "my",
            ],
        ),
    }
}

/// `text` cut in two at its first "?", ";" or ". ", or at a joining word of `language` (" and ",
/// " und ", " y ") when a question starts after it, with at least `MIN_HALF_WORDS` words on
/// each side.
fn split_in_two<'t>(text: &'t str, language: &str) -> Option<(&'t str, &'t str)> {
    let lower = text.to_lowercase();
    if lower.len() != text.len() {
        // Lowercasing changed byte offsets (rare scripts): do not split.
        return None;
    }
    let (joining, starts) = joins(language);
    let words = |s: &str| s.split_whitespace().count();
    let starts_a_question = |rest: &str| {
        normalize::fold(rest)
            .split(|c: char| !c.is_alphanumeric())
            .find(|w| !w.is_empty() && !joining.iter().any(|j| j.trim() == *w))
            .is_some_and(|w| starts.contains(&w))
    };
    [("?", false), (";", false), (". ", false)]
        .into_iter()
        .chain(joining.iter().map(|j| (*j, true)))
        .filter_map(|(sep, needs_question)| {
            let at = lower.find(sep)?;
            let rest = &lower[at + sep.len()..];
            if needs_question && !starts_a_question(rest) {
                return None;
            }
            let (a, b) = (&text[..at], &text[at + sep.len()..]);
            (words(a) >= MIN_HALF_WORDS && words(b) >= MIN_HALF_WORDS).then_some((at, a, b))
        })
        .min_by_key(|(at, ..)| *at)
        .map(|(_, a, b)| (a.trim(), b.trim()))
}

impl Matcher {
    /// Compiles `kb`. Fails only if tantivy cannot build its RAM index.
    pub fn build(mut kb: KnowledgeBase) -> anyhow::Result<Matcher> {
        let translations = std::mem::take(&mut kb.translations)
            .into_iter()
            .map(Matcher::build)
            .collect::<anyhow::Result<Vec<Matcher>>>()?;
        let normalizer =
            Normalizer::for_language(kb.language(), &kb.synonyms).with_shorthand(&kb.shorthand);
        let mut phrasings = Vec::new();
        for (i, faq) in kb.faqs.iter().enumerate() {
            for text in std::iter::once(&faq.title).chain(&faq.questions) {
                let analyzed = normalizer.analyze(text, None);
                if !analyzed.terms.is_empty() {
                    phrasings.push(Phrasing {
                        faq: i as u32,
                        text: text.clone(),
                        analyzed,
                    });
                }
            }
        }

        // Typos are corrected towards the words of the phrasings, rules, lexicon and the ways
        // of asking for a person.
        let mut vocabulary: Vec<String> = phrasings
            .iter()
            .flat_map(|p| p.analyzed.words.iter().cloned())
            .collect();
        let rule_phrases = kb.rules.rules.iter().flat_map(|r| r.phrases.iter());
        let lexicon = kb.rules.frustration.phrases.iter().map(|p| &p.phrase);
        let asking = [&kb.handoff.person, &kb.handoff.request, &kb.handoff.help];
        let asking = asking.into_iter().flatten();
        for phrase in rule_phrases.chain(lexicon).chain(asking) {
            vocabulary.extend(normalize::words(&normalize::fold(phrase)));
        }
        let mut known: HashSet<String> = phrasings
            .iter()
            .flat_map(|p| p.analyzed.terms.iter().cloned())
            .collect();
        known.extend(vocabulary.iter().map(|w| normalizer.stem(w)));
        let speller = Speller::new(
            vocabulary.iter().map(String::as_str),
            known,
            dictionary::for_language(kb.language()),
        );

        let rules = PhraseSet::new(
            &normalizer,
            kb.rules
                .rules
                .iter()
                .enumerate()
                .flat_map(|(i, r)| r.phrases.iter().map(move |p| (i, p.as_str()))),
        );
        let lexicon = PhraseSet::new(
            &normalizer,
            kb.rules
                .frustration
                .phrases
                .iter()
                .enumerate()
                .map(|(i, p)| (i, p.phrase.as_str())),
        );
        let meter = Meter::new(
            kb.rules.frustration.clone(),
            lexicon,
            normalizer.language() == "en",
        );
        let intent = handoff::Intent::new(&kb.handoff, &normalizer);
        let mut answers_asking = vec![false; kb.faqs.len()];
        for p in &phrasings {
            if intent.asked(&p.analyzed.words, &p.analyzed.stems).is_some() {
                answers_asking[p.faq as usize] = true;
            }
        }
        let phrasing_terms: Vec<Vec<String>> =
            phrasings.iter().map(|p| p.analyzed.terms.clone()).collect();
        let scorer = FaqScorer::build(&kb, &normalizer, phrasings)?;
        let said_alone = phrasing_terms
            .into_iter()
            .filter(|terms| terms.len() == 1)
            .flatten()
            .collect();
        let by_id = kb
            .faqs
            .iter()
            .enumerate()
            .map(|(i, f)| (f.id.clone(), i))
            .collect();
        // Evidence of this language: the words of its own phrasings (not the default
        // language's FAQs it lacks), rules and ways of asking for a person, its function words
        // and shorthand.
        let own_phrasings = kb
            .faqs
            .iter()
            .filter(|f| !f.untranslated)
            .flat_map(|f| std::iter::once(&f.title).chain(&f.questions));
        let rule_phrases = kb.rules.rules.iter().flat_map(|r| r.phrases.iter());
        let h = &kb.handoff;
        let asking = [
            &h.person,
            &h.request,
            &h.help,
            &h.filler,
            &h.between,
            &h.negation,
        ];
        let shorthand = kb.shorthand.iter().flat_map(|(from, to)| [from, to]);
        // Deduplicated as it is gathered: every word of every phrasing is millions of words at
        // 100,000 FAQs, and sorting them all before the dedup was a tenth of the build.
        let unique: HashSet<String> = own_phrasings
            .chain(rule_phrases)
            .chain(asking.into_iter().flatten())
            .chain(shorthand)
            .flat_map(|t| normalize::words(&normalize::fold(t)))
            .chain(normalizer.stopwords().map(str::to_owned))
            .collect();
        let mut lexicon: Vec<String> = unique.into_iter().collect();
        lexicon.sort_unstable();
        let chooser = (!translations.is_empty()).then(|| {
            let own = language::Lexicon::new(kb.language(), lexicon.iter().cloned());
            let others = translations
                .iter()
                .map(|t| language::Lexicon::new(t.language(), t.lexicon.iter().cloned()));
            language::Chooser::new(std::iter::once(own).chain(others).collect())
        });
        Ok(Matcher {
            kb,
            normalizer,
            speller,
            rules,
            intent,
            meter,
            scorer,
            by_id,
            answers_asking,
            said_alone,
            translations,
            chooser,
            lexicon,
        })
    }

    /// The language this matcher answers in (a two-letter code).
    pub fn language(&self) -> &str {
        self.kb.language()
    }

    /// Every language it answers in, the default first.
    pub fn languages(&self) -> Vec<&str> {
        std::iter::once(self.language())
            .chain(self.translations.iter().map(Matcher::language))
            .collect()
    }

    /// The matcher of language `code` (a two-letter code or a locale such as `es-MX`; this one
    /// for its own language or a language it does not have).
    pub fn for_language(&self, code: Option<&str>) -> &Matcher {
        let primary = code.map(|c| c.split(['-', '_']).next().unwrap_or(c).to_ascii_lowercase());
        primary
            .and_then(|c| self.translations.iter().find(|t| t.language() == c))
            .unwrap_or(self)
    }

    /// Sets the answer and clarify thresholds of every language (`kb tune` tries many).
    pub fn set_thresholds(&mut self, answer: f32, clarify: f32) {
        self.kb.rules.policy.answer_confidence = answer;
        self.kb.rules.policy.clarify_confidence = clarify;
        for t in &mut self.translations {
            t.set_thresholds(answer, clarify);
        }
    }

    pub fn knowledge_base(&self) -> &KnowledgeBase {
        &self.kb
    }

    /// The content terms of `text` as the matcher reads it: typos corrected, stemmed, synonyms
    /// mapped, function words left out ("where's my package?" and "where is my parcle" give the
    /// same). What the report groups similar questions by.
    pub fn content_terms(&self, text: &str) -> std::collections::HashSet<String> {
        let analyzed = self.normalizer.analyze(text, Some(&self.speller));
        let function_words: std::collections::HashSet<String> = analyzed
            .words
            .iter()
            .filter(|w| self.normalizer.is_stopword(w))
            .map(|w| self.normalizer.stem(w))
            .collect();
        analyzed
            .terms
            .into_iter()
            .filter(|t| !function_words.contains(t))
            .collect()
    }

    /// Whether a trained model (not retrieval alone) scores FAQs.
    pub fn has_model(&self) -> bool {
        self.scorer.has_model()
    }

    /// Decides what to do with one visitor message.
    /// Decides one message: in the language it is written in (among the knowledge base's), by
    /// that language's matcher. The turn's memory keeps the language for the next message.
    pub fn decide(&self, memory: &Memory, text: &str) -> Turn {
        let Some(chooser) = &self.chooser else {
            return self.decide_here(memory, text);
        };
        let choice = chooser.choose(text, memory.language.as_deref());
        let code = chooser.code(choice.index);
        let mut turn = self.for_language(Some(code)).decide_here(memory, text);
        turn.memory.language = Some(code.to_owned());
        turn.explanation.language = Some(policy::LanguageChoice {
            code: code.to_owned(),
            known: choice.known,
            detected: choice.detected,
        });
        turn
    }

    /// Decides one message in this matcher's language.
    fn decide_here(&self, memory: &Memory, text: &str) -> Turn {
        let analyzed = self.normalizer.analyze(text, Some(&self.speller));
        let mut explanation = Explanation {
            corrections: analyzed.corrections.clone(),
            ..Explanation::default()
        };
        let negativity = self.meter.negativity(text);
        let mut signals = self
            .meter
            .message_signals(text, &analyzed, memory, negativity);

        // A handoff rule (the visitor asked, if they asked for a person), then the visitor asking
        // for a person in their own words, then the other rules, then the FAQs.
        let rule = self.rule_for(&analyzed);
        let handoff_rule = rule
            .as_ref()
            .is_some_and(|h| self.kb.rules.rules[h.owner].action == RuleAction::Handoff);
        let asked = self.intent.asked(&analyzed.words, &analyzed.stems);
        let tentative = match rule {
            // A handoff rule that caught someone asking for a person: the visitor asked (what
            // the reports count), and the rule is named as what caught it.
            Some(hit) if handoff_rule && asked.is_some() => {
                let rule = &self.kb.rules.rules[hit.owner];
                explanation.rule = Some((rule.id.clone(), hit.phrase.clone()));
                explanation.asked_for_person = asked;
                Decision::Handoff {
                    reason: HandoffReason::VisitorAsked,
                }
            }
            _ if !handoff_rule && let Some(words) = asked => {
                explanation.asked_for_person = Some(words);
                // An FAQ with such a request among its phrasings answers it the editor's way.
                match self.faq_decision(&analyzed, &mut explanation) {
                    d @ (Decision::Answer {
                        source: Source::Faq(_),
                        ..
                    }
                    | Decision::Handoff {
                        reason: HandoffReason::Faq(_),
                    }) if self.answers_asking[self.faq_index(&explanation.candidates[0].faq)] => d,
                    _ => Decision::Handoff {
                        reason: HandoffReason::VisitorAsked,
                    },
                }
            }
            Some(hit) => {
                let rule = &self.kb.rules.rules[hit.owner];
                explanation.rule = Some((rule.id.clone(), hit.phrase.clone()));
                match rule.action {
                    RuleAction::Handoff => Decision::Handoff {
                        reason: HandoffReason::Rule(rule.id.clone()),
                    },
                    RuleAction::Reply => Decision::Answer {
                        source: Source::Rule(rule.id.clone()),
                        options: rule.suggest.clone(),
                        offer_human: false,
                    },
                    RuleAction::Suggest => Decision::Clarify {
                        offer_human: false,
                        options: rule.suggest.clone(),
                    },
                }
            }
            None => {
                let whole = self.faq_decision(&analyzed, &mut explanation);
                self.two_questions(text, whole, &mut explanation)
            }
        };

        let is_fallback = matches!(tentative, Decision::Fallback { .. });
        if is_fallback && let Some(s) = self.meter.repeated_fallback(memory) {
            signals.push(s);
        }
        let score = self.meter.next_score(memory.frustration, &signals);
        let policy = &self.kb.rules.policy;
        let mut next = memory.clone();
        next.fallbacks_in_row = if is_fallback {
            memory.fallbacks_in_row + 1
        } else {
            0
        };
        let decision = if matches!(tentative, Decision::Handoff { .. }) {
            tentative
        } else if score >= self.meter.threshold() {
            Decision::Handoff {
                reason: HandoffReason::Frustrated,
            }
        } else if is_fallback
            && policy.handoff_after_fallbacks > 0
            && next.fallbacks_in_row >= policy.handoff_after_fallbacks
        {
            Decision::Handoff {
                reason: HandoffReason::RepeatedMisses,
            }
        } else if is_fallback {
            Decision::Fallback {
                offer_human: next.fallbacks_in_row >= policy.offer_human_after_fallbacks
                    || self.meter.offers_person(negativity),
            }
        } else if let Decision::Answer {
            source,
            options,
            offer_human,
        } = tentative
        {
            // An upset visitor is offered a person with the answer.
            Decision::Answer {
                source,
                options,
                offer_human: offer_human || self.meter.offers_person(negativity),
            }
        } else if let Decision::Clarify { options, .. } = tentative {
            // A message that names a person ("can a manager look at my lamp") always has
            // "Talk to a person" among the choices.
            Decision::Clarify {
                options,
                offer_human: self.intent.names_person(&analyzed.stems)
                    || self.meter.offers_person(negativity),
            }
        } else {
            tentative
        };
        if matches!(decision, Decision::Handoff { .. }) {
            // A person takes over; if the conversation comes back to the bot it starts calm.
            next.frustration_at_handoff = score;
            next.frustration = 0.0;
            next.fallbacks_in_row = 0;
        } else {
            next.frustration = score;
        }
        Meter::remember(&mut next, &analyzed);
        explanation.frustration = score;
        explanation.signals = signals;
        Turn {
            decision,
            explanation,
            memory: next,
        }
    }

    /// Negative feedback on an answer adds to the meter; returns the handoff it causes, if any.
    pub fn feedback(&self, memory: &mut Memory, helpful: bool) -> Option<HandoffReason> {
        if helpful {
            return None;
        }
        memory.frustration = self
            .meter
            .next_score(memory.frustration, &[self.meter.negative_feedback()]);
        (memory.frustration >= self.meter.threshold()).then(|| {
            memory.frustration_at_handoff = memory.frustration;
            memory.frustration = 0.0;
            HandoffReason::Frustrated
        })
    }

    /// The rule that applies to a message: handoff rules first, then in file order; an `alone`
    /// rule only when the rest of the message is filler.
    fn rule_for(&self, analyzed: &Analyzed) -> Option<PhraseHit> {
        let hits = self.rules.find(&analyzed.terms);
        let mut covered = vec![false; analyzed.terms.len()];
        for h in &hits {
            covered[h.start..h.end].iter_mut().for_each(|c| *c = true);
        }
        let only_filler_left = analyzed
            .terms
            .iter()
            .zip(&covered)
            .all(|(t, c)| *c || self.scorer.is_filler(t));
        hits.into_iter()
            .filter(|h| {
                self.kb.rules.rules[h.owner].scope == RuleScope::Anywhere || only_filler_left
            })
            .min_by_key(|h| {
                let rule = &self.kb.rules.rules[h.owner];
                (rule.action != RuleAction::Handoff, h.owner)
            })
    }

    /// Two questions in one message ("can i pay with klarna and how much is shipping", "ich will
    /// mein Geld zurück und wo ist mein Paket"): when one half on its own gets a confident
    /// answer and the other an answer or a "did you mean" from a different FAQ, both are served:
    /// one answered, the other offered first among the options. The whole message's answer
    /// stands (with the other half offered when it is one of the two); when the whole message
    /// found no answer, the confident half is answered.
    fn two_questions(
        &self,
        text: &str,
        whole: Decision,
        explanation: &mut Explanation,
    ) -> Decision {
        let Some((a, b)) = split_in_two(text, self.language()) else {
            return whole;
        };
        let served = |part: &str| {
            let mut explanation = Explanation::default();
            let analyzed = self.normalizer.analyze(part, Some(&self.speller));
            match self.faq_decision(&analyzed, &mut explanation) {
                Decision::Answer {
                    source: Source::Faq(faq),
                    options,
                    offer_human,
                } => Some(Half {
                    faq,
                    answered: true,
                    others: options,
                    offer_human,
                    explanation,
                }),
                Decision::Clarify { mut options, .. } if !options.is_empty() => Some(Half {
                    faq: options.remove(0),
                    answered: false,
                    others: options,
                    offer_human: false,
                    explanation,
                }),
                _ => None,
            }
        };
        let (Some(first), Some(second)) = (served(a), served(b)) else {
            return whole;
        };
        if first.faq == second.faq || !(first.answered || second.answered) {
            return whole;
        }
        let halves = Some(vec![a.to_owned(), b.to_owned()]);
        let (answered, offered, related, offer_human) = match whole {
            Decision::Answer {
                source: Source::Faq(id),
                options,
                offer_human,
            } if id == first.faq || id == second.faq => {
                let other = if id == first.faq { second } else { first };
                (id, other, options, offer_human)
            }
            // The whole message is confidently about something else: that stands.
            Decision::Answer { .. } => return whole,
            _ => {
                let (sure, other) = if first.answered {
                    (first, second)
                } else {
                    (second, first)
                };
                let corrections = std::mem::take(&mut explanation.corrections);
                *explanation = Explanation {
                    corrections,
                    ..sure.explanation
                };
                (sure.faq, other, sure.others, sure.offer_human)
            }
        };
        explanation.split = halves;
        // The other half's FAQ first; if it was only a "did you mean", its other choices next.
        let mut options = vec![offered.faq];
        if !offered.answered {
            options.extend(offered.others);
        }
        options.extend(related);
        options.retain(|o| *o != answered);
        let mut seen = HashSet::default();
        options.retain(|o| seen.insert(o.clone()));
        options.truncate(MAX_OPTIONS);
        Decision::Answer {
            source: Source::Faq(answered),
            options,
            offer_human,
        }
    }

    /// Scores the FAQs for a message and applies the confidence thresholds.
    fn faq_decision(&self, analyzed: &Analyzed, explanation: &mut Explanation) -> Decision {
        let candidates = self.scorer.candidates(&self.kb, analyzed);
        let policy = &self.kb.rules.policy;
        let best = candidates.first().map(|c| c.confidence).unwrap_or(0.0);
        let second = candidates.get(1).map(|c| c.confidence).unwrap_or(0.0);
        explanation.margin = best - second;
        explanation.known = self.scorer.known_share(&analyzed.terms);
        if let Some(top) = candidates.first() {
            explanation.matched_terms = self
                .scorer
                .matched_terms(self.faq_index(&top.faq), &analyzed.terms);
        }
        explanation.candidates = candidates.iter().take(MAX_OPTIONS).cloned().collect();

        // One word that several FAQs are about ("delivery", "my refund") does not say which:
        // ask, offering those FAQs, unless an editor wrote that word alone as a phrasing. (A
        // question around the word, "where is my parcel", says which.)
        let mut content = analyzed.terms.iter().filter(|t| !self.scorer.is_filler(t));
        if analyzed.terms.len() <= 2
            && let (Some(only), None) = (content.next(), content.next())
            && !self.said_alone.contains(only)
        {
            let about: Vec<FaqId> = candidates
                .iter()
                .filter(|c| {
                    !self
                        .scorer
                        .matched_terms(self.faq_index(&c.faq), std::slice::from_ref(only))
                        .is_empty()
                })
                .take(MAX_OPTIONS)
                .map(|c| c.faq.clone())
                .collect();
            // A second word that some of them have and others lack says which ("wemo on").
            let knows = |faq: &FaqId, term: &String| {
                !self
                    .scorer
                    .matched_terms(self.faq_index(faq), std::slice::from_ref(term))
                    .is_empty()
            };
            let telling = analyzed.terms.iter().filter(|t| *t != only).any(|t| {
                let mut has = about.iter().map(|f| knows(f, t));
                let first = has.next();
                has.any(|h| Some(h) != first)
            });
            if about.len() >= 2 && !telling {
                return Decision::Clarify {
                    options: about,
                    offer_human: false,
                };
            }
        }
        if best >= policy.answer_confidence {
            let faq = &self.kb.faqs[self.faq_index(&candidates[0].faq)];
            if faq.handoff == Some(HandoffMode::Always) {
                return Decision::Handoff {
                    reason: HandoffReason::Faq(faq.id.clone()),
                };
            }
            return Decision::Answer {
                source: Source::Faq(faq.id.clone()),
                options: faq.related.clone(),
                offer_human: faq.handoff == Some(HandoffMode::Offer),
            };
        }
        let options: Vec<FaqId> = candidates
            .iter()
            .take(MAX_OPTIONS)
            // A rival's confidence is cut by its low coverage when it shares no word with a vague
            // message ("late"), yet it may be what the visitor means (the delivery FAQs).
            .filter(|c| c.confidence >= policy.clarify_confidence / 4.0)
            .map(|c| c.faq.clone())
            .collect();
        // One candidate in the band is a "Did you mean ...?" with one option.
        if best >= policy.clarify_confidence && !options.is_empty() {
            Decision::Clarify {
                options,
                offer_human: false,
            }
        } else {
            Decision::Fallback { offer_human: false }
        }
    }

    fn faq_index(&self, id: &FaqId) -> usize {
        *self
            .by_id
            .get(id)
            .expect("invariant: candidates only name FAQs of this knowledge base")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Matcher {
        let kb = crate::knowledge_base::load(std::path::Path::new("knowledge_base"))
            .expect("the sample knowledge base loads")
            .kb;
        Matcher::build(kb).expect("the matcher builds")
    }

    #[test]
    fn a_message_is_cut_at_its_first_join_between_two_questions() {
        assert_eq!(
            split_in_two("can i pay with klarna and how much is shipping", "en"),
            Some(("can i pay with klarna", "how much is shipping"))
        );
        assert_eq!(
            split_in_two("Where is my order? Also, what is your return policy?", "en"),
            Some(("Where is my order", "Also, what is your return policy?"))
        );
        assert_eq!(
            split_in_two("salt and pepper grinder", "en"),
            None,
            "halves too short"
        );
    }

    #[test]
    fn two_questions_in_one_message_answer_one_and_offer_the_other() {
        let m = sample();
        let turn = m.decide(
            &Memory::default(),
            "can i pay with klarna and how much is shipping",
        );
        let Decision::Answer {
            source: Source::Faq(answered),
            options,
            ..
        } = &turn.decision
        else {
            panic!("{:?}", turn.decision)
        };
        let both = [answered.as_str(), options[0].as_str()];
        assert!(both.contains(&"pay-later"), "{both:?}");
        assert!(both.contains(&"shipping-cost"), "{both:?}");
        assert_eq!(
            turn.explanation.split.as_deref(),
            Some(
                &[
                    "can i pay with klarna".to_owned(),
                    "how much is shipping".to_owned()
                ][..]
            ),
            "the explanation says how it was split"
        );
        // One question joined by "and" stays one.
        let turn = m.decide(
            &Memory::default(),
            "i want to return the shoes and the jacket",
        );
        assert_eq!(turn.explanation.split, None);
    }

    #[test]
    fn a_did_you_mean_for_a_message_that_names_a_person_offers_one() {
        let m = sample();
        let turn = m.decide(&Memory::default(), "the courier person was rude");
        assert!(
            matches!(
                turn.decision,
                Decision::Clarify {
                    offer_human: true,
                    ..
                }
            ),
            "{:?}",
            turn.decision
        );
        let turn = m.decide(&Memory::default(), "delivery");
        assert!(
            matches!(
                turn.decision,
                Decision::Clarify {
                    offer_human: false,
                    ..
                }
            ),
            "{:?}",
            turn.decision
        );
    }

    #[test]
    fn one_word_that_several_faqs_are_about_asks_which_is_meant() {
        let m = sample();
        for (word, some) in [
            ("delivery", ["delivery-time", "delivery-failed"]),
            ("refund", ["refund-status", "refund-time"]),
        ] {
            let turn = m.decide(&Memory::default(), word);
            let Decision::Clarify { options, .. } = &turn.decision else {
                panic!("{word}: {:?}", turn.decision)
            };
            for faq in some {
                assert!(
                    options.iter().any(|o| o.as_str() == faq),
                    "{word}: {options:?}"
                );
            }
        }
        // A word only one FAQ is about is answered.
        let turn = m.decide(&Memory::default(), "klarna");
        assert_eq!(
            turn.decision.answered_faq().map(|f| f.as_str()),
            Some("pay-later")
        );
    }

    #[test]
    fn two_questions_are_both_served_in_every_language_of_the_knowledge_base() {
        let m = sample();
        assert_eq!(
            split_in_two("ich will mein Geld zurück und wo ist mein Paket", "de"),
            Some(("ich will mein Geld zurück", "wo ist mein Paket"))
        );
        assert_eq!(
            split_in_two("quiero mi dinero de vuelta y dónde está mi paquete", "es"),
            Some(("quiero mi dinero de vuelta", "dónde está mi paquete"))
        );
        for text in [
            "i want my money back and where is my parcel",
            "ich will mein Geld zurück und wo ist mein Paket",
            "quiero mi dinero de vuelta y dónde está mi paquete",
        ] {
            let turn = m.decide(&Memory::default(), text);
            let Decision::Answer {
                source: Source::Faq(answered),
                options,
                ..
            } = &turn.decision
            else {
                panic!("{text}: {:?}", turn.decision)
            };
            let both = [answered.as_str(), options[0].as_str()];
            assert!(both.contains(&"track-order"), "{text}: {both:?}");
            let offered: Vec<&str> = std::iter::once(answered.as_str())
                .chain(options.iter().map(|o| o.as_str()))
                .collect();
            assert!(
                offered.iter().any(|f| f.starts_with("refund-")),
                "{text}: the refund half is served too: {offered:?}"
            );
            assert!(turn.explanation.split.is_some(), "{text}");
        }
    }

    #[test]
    fn asking_for_a_person_is_the_visitor_asking_whichever_rule_caught_it() {
        let m = sample();
        for text in [
            "can I speak to someone please",
            "I want to speak to a real person",
            "I want to talk to a human",
        ] {
            let turn = m.decide(&Memory::default(), text);
            assert_eq!(
                turn.decision,
                Decision::Handoff {
                    reason: HandoffReason::VisitorAsked
                },
                "{text}"
            );
            assert!(turn.explanation.asked_for_person.is_some(), "{text}");
        }
        // The sample's `human` rule still names what caught it.
        let turn = m.decide(&Memory::default(), "I want to talk to a human");
        assert_eq!(
            turn.explanation.rule.as_ref().map(|(id, _)| id.as_str()),
            Some("human")
        );
    }
}
