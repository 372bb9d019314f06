//! `tandem --help` in the person's language. The clap command tree gets every text a person reads
//! in help (abouts, argument help, headings, the `-h`/`-V` flags) from the catalogue before parsing:
//! a command's about is `help-<command>` (`help-tandem` for the root) and an argument's help is
//! `help-<command>-<argument>` in `help.ftl`, so those ids come from the tree, not from `tr!`.
//! The doc comments on the clap structs stay as developer docs; a test keeps them equal to the
//! English catalogue.

use std::ffi::OsString;

use clap::builder::StyledStr;
use clap::{Arg, ArgAction, Command};
use tandem_i18n::{FluentValue, Language};

/// The language to speak while parsing the flags (their help and errors): `--lang X` or
/// `--lang=X` on the command line, else `TANDEM_LANG`, else the system's. A language Tandem does
/// not speak is skipped here; clap then refuses it, in the language found next.
pub fn language_before_parsing(args: &[OsString], tandem_lang: Option<&str>) -> Language {
    let mut words = args.iter().skip(1).map(|word| word.to_str());
    let mut from_flag = None;
    while let Some(word) = words.next() {
        match word {
            // After `--` everything is a value.
            Some("--") => break,
            Some("--lang") => from_flag = words.next().flatten().and_then(Language::from_tag),
            Some(word) => {
                if let Some(tag) = word.strip_prefix("--lang=") {
                    from_flag = Language::from_tag(tag);
                }
            }
            None => {}
        }
    }
    from_flag
        .or_else(|| tandem_lang.and_then(Language::from_tag))
        .unwrap_or_else(Language::from_system)
}

/// Message `id` in `language` (help is built for the language found before parsing, which
/// becomes the current one only after).
fn text(language: Language, id: &str, args: &[(&str, FluentValue<'_>)]) -> String {
    tandem_i18n::message_in(language, id, args)
}

/// The catalogue id of a command's about: `help-tandem` for the root, `help-<name>` below it.
pub fn command_id(path: &[&str]) -> String {
    match path {
        [] => "help-tandem".to_owned(),
        names => format!("help-{}", names.join("-")),
    }
}

/// The catalogue id of an argument's help: `help-<command>-<argument>`, `_` written `-`.
pub fn argument_id(path: &[&str], argument: &str) -> String {
    format!("{}-{}", command_id(path), argument.replace('_', "-"))
}

/// `command` (the derive's tree, unbuilt) with every text from the catalogue in the current
/// language, built: ready for `get_matches_from`.
pub fn translated(command: Command, language: Language) -> Command {
    let mut command = translate_command(command, &[], language)
        .disable_version_flag(true)
        .arg(
            Arg::new("version")
                .short('V')
                .long("version")
                .action(ArgAction::Version)
                .help(text(language, "cli-help-flag-version", &[]))
                .help_heading(text(language, "cli-help-heading-options", &[]))
                .display_order(usize::MAX),
        );
    // clap adds its `help` subcommand while building; its texts can only be set after.
    command.build();
    command.mut_subcommand("help", |help| {
        let about = text(language, "cli-help-command-help", &[]);
        let inner_about = about.clone();
        page_layout(help.about(about), language).mut_subcommand("help", |inner| {
            page_layout(inner.about(inner_about), language)
        })
    })
}

/// One command and, recursively, its subcommands. `path`: the subcommand names leading to it.
fn translate_command(command: Command, path: &[&str], language: Language) -> Command {
    let about = text(language, &command_id(path), &[]);
    let mut command = page_layout(command, language)
        .about(about)
        .long_about(None)
        .mut_args(|arg| translate_argument(arg, path, language))
        .disable_help_flag(true)
        .arg(
            Arg::new("help")
                .short('h')
                .long("help")
                .action(ArgAction::Help)
                .help(text(language, "cli-help-flag-help", &[]))
                .help_heading(text(language, "cli-help-heading-options", &[]))
                // Last, as clap's own `-h` is.
                .display_order(usize::MAX - 1),
        );
    let names: Vec<String> = command
        .get_subcommands()
        .map(|sub| sub.get_name().to_owned())
        .collect();
    for name in names {
        let mut below = path.to_vec();
        below.push(&name);
        command = command.mut_subcommand(&name, |sub| translate_command(sub, &below, language));
    }
    command
}

/// The page's headings in the current language; clap writes them (and adds the `:` to the
/// section headings) the same way for every command.
fn page_layout(command: Command, language: Language) -> Command {
    let usage_style = *command.get_styles().get_usage();
    let usage_heading = format!(
        "{}{}:{}",
        usage_style.render(),
        text(language, "cli-help-heading-usage", &[]),
        usage_style.render_reset()
    );
    let template = format!(
        "{{before-help}}{{about-with-newline}}\n{usage_heading} {{usage}}\n\n{{all-args}}{{after-help}}"
    );
    command
        .help_template(StyledStr::from(template))
        .subcommand_help_heading(text(language, "cli-help-heading-commands", &[]))
}

/// An argument's help from the catalogue, followed by its default, its possible values and its
/// environment variable as clap would show them, but in the current language.
fn translate_argument(arg: Arg, path: &[&str], language: Language) -> Arg {
    let mut help = text(language, &argument_id(path, arg.get_id().as_str()), &[]);
    let takes_values = arg.get_action().takes_values();
    let defaults: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|value| value.to_string_lossy().into_owned())
        .collect();
    if takes_values && !defaults.is_empty() && !arg.is_hide_default_value_set() {
        help.push(' ');
        help.push_str(&text(
            language,
            "cli-help-default",
            &[("value", defaults.join(" ").into())],
        ));
    }
    let possible: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|value| !value.is_hide_set())
        .map(|value| value.get_name().to_owned())
        .collect();
    if takes_values && !possible.is_empty() && !arg.is_hide_possible_values_set() {
        help.push(' ');
        help.push_str(&text(
            language,
            "cli-help-possible-values",
            &[("values", possible.join(", ").into())],
        ));
    }
    if let Some(variable) = arg.get_env().filter(|_| !arg.is_hide_env_set()) {
        help.push(' ');
        help.push_str(&text(
            language,
            "cli-help-environment",
            &[("variable", variable.to_string_lossy().into_owned().into())],
        ));
    }
    let heading = if arg.is_positional() {
        text(language, "cli-help-heading-arguments", &[])
    } else {
        text(language, "cli-help-heading-options", &[])
    };
    let arg = arg.help(help).long_help(None).help_heading(heading);
    // clap's own (English) decorations off; clap only accepts these on arguments with values.
    if takes_values {
        arg.hide_default_value(true)
            .hide_possible_values(true)
            .hide_env(true)
    } else {
        arg
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use clap::CommandFactory as _;
    use tandem_i18n::{Language, catalogue_messages, format_in};

    use super::*;

    /// Every `help-` id the real command tree needs, with the English its doc comment gives.
    fn tree_ids(command: &Command, path: &[&str], out: &mut BTreeMap<String, String>) {
        let about = command.get_about().map(ToString::to_string);
        out.insert(command_id(path), about.unwrap_or_default());
        for arg in command.get_arguments() {
            let help = arg.get_help().map(ToString::to_string);
            out.insert(
                argument_id(path, arg.get_id().as_str()),
                help.unwrap_or_default(),
            );
        }
        for sub in command.get_subcommands() {
            let mut below = path.to_vec();
            below.push(sub.get_name());
            tree_ids(sub, &below, out);
        }
    }

    fn needed() -> BTreeMap<String, String> {
        let mut ids = BTreeMap::new();
        tree_ids(&crate::Cli::command(), &[], &mut ids);
        ids
    }

    #[test]
    fn every_command_and_argument_has_its_help_in_both_languages_and_no_entry_is_stale() {
        let needed = needed();
        assert!(needed.contains_key("help-share"), "{needed:?}");
        assert!(needed.contains_key("help-share-relay"), "{needed:?}");
        assert!(needed.contains_key("help-tandem-lang"), "{needed:?}");
        for language in Language::ALL {
            let missing: Vec<_> = needed
                .keys()
                .filter(|id| format_in(language, id, &[]).is_none())
                .collect();
            assert!(missing.is_empty(), "{language:?} lacks {missing:?}");
            let stale: Vec<_> = catalogue_messages(language)
                .into_iter()
                .map(|(id, _)| id)
                .filter(|id| id.starts_with("help-") && !needed.contains_key(id))
                .collect();
            assert!(
                stale.is_empty(),
                "{language:?} has help for no command or argument: {stale:?}"
            );
        }
    }

    #[test]
    fn the_english_help_says_what_the_doc_comments_say() {
        let differing: Vec<_> = needed()
            .into_iter()
            .filter(|(id, doc)| format_in(Language::English, id, &[]).as_ref() != Some(doc))
            .collect();
        assert!(
            differing.is_empty(),
            "help.ftl (en) and the doc comments differ (id, doc comment): {differing:#?}"
        );
    }

    /// The help page of `args` (e.g. `["tandem", "share", "--help"]`) in `language`.
    fn help_page(language: Language, args: &[&str]) -> String {
        let error = translated(crate::Cli::command(), language)
            .try_get_matches_from(args)
            .err();
        let error = error.expect("help ends the parse");
        assert_eq!(error.kind(), clap::error::ErrorKind::DisplayHelp);
        error.render().to_string()
    }

    #[test]
    fn the_help_pages_speak_the_language_with_its_headings_and_flags() {
        let french = help_page(Language::French, &["tandem", "share", "--help"]);
        for expected in [
            "Utilisation\u{a0}:",
            "Options\u{a0}:",
            "Afficher l’aide",
            "[par défaut\u{a0}: 600]",
        ] {
            assert!(french.contains(expected), "{expected:?} in {french}");
        }
        assert!(!french.contains("Print help"), "{french}");
        let root = help_page(Language::French, &["tandem", "-h"]);
        for expected in ["Commandes\u{a0}:", "Afficher la version"] {
            assert!(root.contains(expected), "{expected:?} in {root}");
        }
        let english = help_page(Language::English, &["tandem", "join", "--help"]);
        for expected in ["Usage:", "Arguments:", "Options:", "Print help", "<CODE>"] {
            assert!(english.contains(expected), "{expected:?} in {english}");
        }
    }

    #[test]
    fn the_translated_tree_is_a_valid_clap_command() {
        for language in Language::ALL {
            translated(crate::Cli::command(), language).debug_assert();
        }
    }

    #[test]
    fn the_language_is_found_before_parsing_from_the_flag_then_the_environment() {
        let args = |words: &[&str]| -> Vec<OsString> { words.iter().map(OsString::from).collect() };
        let french = Some(Language::French);
        let english = Some(Language::English);
        let found =
            |words: &[&str], env: Option<&str>| Some(language_before_parsing(&args(words), env));
        assert_eq!(found(&["tandem", "--lang", "fr", "share"], None), french);
        assert_eq!(found(&["tandem", "share", "--lang=fr"], Some("en")), french);
        assert_eq!(found(&["tandem", "--lang", "en"], Some("fr")), english);
        assert_eq!(found(&["tandem", "share"], Some("fr_CA.UTF-8")), french);
        // An unknown language on the flag leaves the environment's; `--` ends the flags.
        assert_eq!(found(&["tandem", "--lang", "de"], Some("fr")), french);
        assert_eq!(found(&["tandem", "--", "--lang=en"], Some("fr")), french);
    }
}
