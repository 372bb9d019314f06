//! Tandem's user-facing text in English and French.
//!
//! Every sentence a person reads, in a window or on the terminal, comes from a Fluent catalogue
//! (`locales/<lang>/*.ftl`, a file per part of Tandem) built into the binary: [`tr!`] looks a message up in the current
//! language. The language is English or French, chosen once at start ([`set_language`]) from
//! `--lang` or the system locale ([`Language::from_system`]). Machine-readable output (JSON events,
//! metrics, logs) is never translated.
//!
//! A message missing from the current catalogue falls back to English, then to its id; the
//! catalogue tests make both impossible in a release (every id used in the sources is in both
//! catalogues, with the same variables).

use std::sync::LazyLock;
use std::sync::atomic::{AtomicU8, Ordering};

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};
use unic_langid::LanguageIdentifier;

pub use fluent_bundle::FluentValue;

/// A language Tandem speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Language {
    English,
    French,
}

impl Language {
    /// Every language, English (the fallback) first.
    pub const ALL: [Language; 2] = [Language::English, Language::French];

    /// The language's ISO 639-1 code: `en`, `fr`.
    pub fn code(self) -> &'static str {
        match self {
            Language::English => "en",
            Language::French => "fr",
        }
    }

    /// A language from a tag such as `fr`, `fr-CA`, `fr_CA.UTF-8` or `en_US`; `None` for a
    /// language Tandem does not speak.
    pub fn from_tag(tag: &str) -> Option<Language> {
        let primary = tag
            .split(['-', '_', '.', '@'])
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Language::English),
            "fr" => Some(Language::French),
            _ => None,
        }
    }

    /// The system's language when Tandem speaks it, else English (also for the `C`/`POSIX`
    /// locale). Reads `LC_ALL`, `LC_MESSAGES` and `LANG` on Unix, like gettext.
    pub fn from_system() -> Language {
        sys_locale::get_locale()
            .as_deref()
            .and_then(Language::from_tag)
            .unwrap_or(Language::English)
    }

    fn index(self) -> usize {
        match self {
            Language::English => 0,
            Language::French => 1,
        }
    }

    /// The catalogue's Fluent files: (file name, source).
    pub fn catalogue_files(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Language::English => catalogues::EN,
            Language::French => catalogues::FR,
        }
    }
}

mod catalogues {
    include!(concat!(env!("OUT_DIR"), "/catalogues.rs"));
}

static CURRENT: AtomicU8 = AtomicU8::new(0);

/// Makes `language` the one [`tr!`] speaks from now on (all threads).
pub fn set_language(language: Language) {
    CURRENT.store(language.index() as u8, Ordering::Relaxed);
}

/// The language [`tr!`] speaks now (English until [`set_language`]).
pub fn language() -> Language {
    match CURRENT.load(Ordering::Relaxed) {
        1 => Language::French,
        _ => Language::English,
    }
}

type Bundle = FluentBundle<FluentResource>;

static BUNDLES: LazyLock<[Bundle; 2]> =
    LazyLock::new(|| Language::ALL.map(|language| bundle(language).0));

/// The bundle for `language` and the problems found while loading it (none in a release: the
/// catalogue tests check).
fn bundle(language: Language) -> (Bundle, Vec<String>) {
    let mut problems = Vec::new();
    let langid: LanguageIdentifier = language
        .code()
        .parse()
        .unwrap_or_else(|_| LanguageIdentifier::default());
    let mut bundle = FluentBundle::new_concurrent(vec![langid]);
    // Unicode isolation marks around variables help right-to-left text; ours is left to right,
    // and the marks would end up in terminals and in tests' expectations.
    bundle.set_use_isolating(false);
    for (file, source) in language.catalogue_files() {
        let resource = match FluentResource::try_new((*source).to_owned()) {
            Ok(resource) => resource,
            Err((resource, errors)) => {
                problems.extend(
                    errors
                        .iter()
                        .map(|error| format!("{file}: syntax: {error:?}")),
                );
                resource
            }
        };
        if let Err(errors) = bundle.add_resource(resource) {
            problems.extend(errors.iter().map(|error| format!("{file}: {error:?}")));
        }
    }
    for problem in &problems {
        tracing::error!(language = language.code(), %problem, "catalogue problem");
    }
    (bundle, problems)
}

/// Problems in `language`'s catalogue: syntax errors and ids defined twice. Empty in a release.
pub fn catalogue_problems(language: Language) -> Vec<String> {
    bundle(language).1
}

/// The ids of the messages in `language`'s catalogue, with the names of the variables each uses.
pub fn catalogue_messages(language: Language) -> Vec<(String, Vec<String>)> {
    let resources: Vec<FluentResource> = language
        .catalogue_files()
        .iter()
        .map(
            |(_, source)| match FluentResource::try_new((*source).to_owned()) {
                Ok(resource) | Err((resource, _)) => resource,
            },
        )
        .collect();
    resources
        .iter()
        .flat_map(|resource| resource.entries())
        .filter_map(|entry| match entry {
            fluent_syntax::ast::Entry::Message(message) => {
                let mut variables = Vec::new();
                if let Some(pattern) = &message.value {
                    collect_variables(pattern, &mut variables);
                }
                for attribute in &message.attributes {
                    collect_variables(&attribute.value, &mut variables);
                }
                variables.sort();
                variables.dedup();
                Some((message.id.name.to_owned(), variables))
            }
            _ => None,
        })
        .collect()
}

fn collect_variables(pattern: &fluent_syntax::ast::Pattern<&str>, out: &mut Vec<String>) {
    use fluent_syntax::ast::{Expression, InlineExpression, PatternElement};
    fn inline(inline_expression: &InlineExpression<&str>, out: &mut Vec<String>) {
        match inline_expression {
            InlineExpression::VariableReference { id } => out.push(id.name.to_owned()),
            InlineExpression::Placeable { expression: e } => expression(e, out),
            _ => {}
        }
    }
    fn expression(whole: &Expression<&str>, out: &mut Vec<String>) {
        match whole {
            Expression::Inline(e) => inline(e, out),
            Expression::Select { selector, variants } => {
                inline(selector, out);
                for variant in variants {
                    collect_variables(&variant.value, out);
                }
            }
        }
    }
    for element in &pattern.elements {
        if let PatternElement::Placeable { expression: e } = element {
            expression(e, out);
        }
    }
}

/// `value` with `places` decimals, written the way the current language writes numbers: `1.5` in
/// English, `1,5` in French. (Fluent prints numbers as Rust does, so decimals are formatted here.)
pub fn decimal(value: f64, places: usize) -> String {
    let text = format!("{value:.places$}");
    match language() {
        Language::French => text.replace('.', ","),
        Language::English => text,
    }
}

/// A size as people read it, in the current language: `512 bytes`, `1.5 KiB` in English,
/// `512 octets`, `1,5 Kio` in French (binary prefixes, one decimal).
pub fn bytes(count: u64) -> String {
    let units: [&str; 5] = match language() {
        Language::English => ["bytes", "KiB", "MiB", "GiB", "TiB"],
        Language::French => ["octets", "Kio", "Mio", "Gio", "Tio"],
    };
    let mut value = count as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{count} {}", units[0])
    } else {
        format!("{} {}", decimal(value, 1), units[unit])
    }
}

/// The message `id` in the current language, with `args` filled in. Prefer [`tr!`].
pub fn message(id: &str, args: &[(&str, FluentValue<'_>)]) -> String {
    message_in(language(), id, args)
}

/// The message `id` in `language`, with `args` filled in, falling back like [`message`]: for text
/// built for a language other than the current one (or by a test, without changing it for other
/// threads).
pub fn message_in(language: Language, id: &str, args: &[(&str, FluentValue<'_>)]) -> String {
    format_in(language, id, args)
        .or_else(|| format_in(Language::English, id, args))
        .unwrap_or_else(|| {
            tracing::warn!(id, "message missing from the catalogues");
            id.to_owned()
        })
}

/// The message `id` in `language`, or `None` when that catalogue lacks it.
pub fn format_in(language: Language, id: &str, args: &[(&str, FluentValue<'_>)]) -> Option<String> {
    let bundle = &BUNDLES[language.index()];
    let pattern = bundle.get_message(id)?.value()?;
    let fluent_args = (!args.is_empty()).then(|| {
        let mut fluent_args = FluentArgs::with_capacity(args.len());
        for (name, value) in args {
            fluent_args.set(*name, value.clone());
        }
        fluent_args
    });
    let mut errors = Vec::new();
    let text = bundle.format_pattern(pattern, fluent_args.as_ref(), &mut errors);
    if !errors.is_empty() {
        tracing::warn!(
            id,
            language = language.code(),
            ?errors,
            "message formatted with errors"
        );
    }
    Some(text.into_owned())
}

/// The message `id` of the catalogue in the current language, with variables:
/// `tr!("code-expires", minutes = 4)` for `code-expires = Expires in { $minutes } min`.
/// Variable values are anything `FluentValue` converts from (strings, numbers).
#[macro_export]
macro_rules! tr {
    ($id:literal) => {
        $crate::message($id, &[])
    };
    ($id:literal, $($name:ident = $value:expr),+ $(,)?) => {
        $crate::message($id, &[$((stringify!($name), $crate::FluentValue::from($value))),+])
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_name_languages_whatever_their_form() {
        assert_eq!(Language::from_tag("fr_CA.UTF-8"), Some(Language::French));
        assert_eq!(Language::from_tag("fr-FR"), Some(Language::French));
        assert_eq!(Language::from_tag("en_US"), Some(Language::English));
        assert_eq!(Language::from_tag("EN"), Some(Language::English));
        assert_eq!(Language::from_tag("C"), None);
        assert_eq!(Language::from_tag("de_DE"), None);
        assert_eq!(Language::from_tag(""), None);
    }

    #[test]
    fn a_message_is_formatted_with_its_variables_in_each_language() {
        let english = format_in(Language::English, "i18n-self-test", &[("count", 3.into())]);
        let french = format_in(Language::French, "i18n-self-test", &[("count", 3.into())]);
        assert_eq!(english.as_deref(), Some("3 files"));
        assert_eq!(french.as_deref(), Some("3 fichiers"));
        let one = format_in(Language::French, "i18n-self-test", &[("count", 1.into())]);
        assert_eq!(one.as_deref(), Some("1 fichier"));
    }

    #[test]
    fn sizes_and_decimals_are_written_as_each_language_writes_them() {
        set_language(Language::French);
        let french = (bytes(512), bytes(1536), decimal(2.5, 1));
        set_language(Language::English);
        let english = (bytes(512), bytes(1536), decimal(2.5, 1));
        assert_eq!(
            french,
            ("512 octets".into(), "1,5 Kio".into(), "2,5".into())
        );
        assert_eq!(
            english,
            ("512 bytes".into(), "1.5 KiB".into(), "2.5".into())
        );
    }

    #[test]
    fn a_missing_message_falls_back_to_its_id() {
        assert_eq!(message("no-such-message", &[]), "no-such-message");
    }
}
