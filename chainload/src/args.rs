//! Splitting a tool's own options from the command it chains to.
//!
//! argh parses the options; the command (the first operand and everything
//! after it) is collected by a greedy positional. argh only accepts UTF-8
//! `&str`, so it is given a lossy view of argv, and the tail is then cut
//! from the original `OsString`s by position: whatever bytes the user
//! passed to the next program reach it untouched.

use std::ffi::OsString;

use argh::FromArgs;

/// An options struct whose last field is the greedy command positional.
pub trait Chained {
    /// How many words of argv the command took (0 when none was given).
    fn command_len(&self) -> usize;
    /// Whether argh saw the `--version` switch the help lists. It is
    /// answered only as the first word (see [`split`]), so anywhere else
    /// among the tool's own options it is a usage error, not ignored.
    fn version_asked(&self) -> bool;
}

/// What parsing the command line came to, when it is not options to run
/// with: a text to print on stdout with status 0 (`--help`, `--version`),
/// or a usage error (a [`crate::Usage`], printed by [`crate::report`]).
#[derive(Debug)]
pub(crate) enum Exit {
    Help(String),
    Usage(String),
}

/// Parse this process's argv: the options and the tail.
pub(crate) fn parse<T: FromArgs + Chained>(name: &str) -> Result<(T, Vec<OsString>), Exit> {
    let argv: Vec<OsString> = std::env::args_os().collect();
    split(name, &argv)
}

fn split<T: FromArgs + Chained>(name: &str, argv: &[OsString]) -> Result<(T, Vec<OsString>), Exit> {
    let words: Vec<String> = argv.iter().skip(1).map(|w| w.to_string_lossy().into_owned()).collect();
    // `--version` is answered only as the first word, so that a command
    // named in the tail may take `--version` itself.
    if words.first().map(String::as_str) == Some("--version") {
        return Err(Exit::Help(format!("{name} (isokit) {}\n", env!("CARGO_PKG_VERSION"))));
    }
    let refs: Vec<&str> = words.iter().map(String::as_str).collect();
    let options = T::from_args(&[name], &refs).map_err(|early| match early.status {
        Ok(()) => Exit::Help(early.output),
        Err(()) => Exit::Usage(lowercase_first(&early.output)),
    })?;
    if options.version_asked() {
        return Err(Exit::Usage("--version must come first".to_owned()));
    }
    let tail_start = argv.len() - options.command_len();
    // The tool's own words must be valid UTF-8: a value argh saw through the
    // lossy view would otherwise differ from what the user typed.
    if let Some(bad) = argv[1..tail_start].iter().find(|w| w.to_str().is_none()) {
        return Err(Exit::Usage(format!("invalid UTF-8 in argument '{}'", bad.to_string_lossy())));
    }
    Ok((options, argv[tail_start..].to_vec()))
}

/// argh says "Unrecognized argument: --x"; util-linux style is lowercase.
fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStringExt;

    /// A stand-in for a tool's options.
    #[derive(FromArgs, Debug)]
    #[argh(help_triggers("-h", "--help"))]
    /// Test tool.
    struct Opts {
        /// a switch
        #[argh(switch)]
        flag: bool,
        /// an option with a value
        #[argh(option)]
        value: Option<String>,
        /// print the version and exit
        #[argh(switch)]
        version: bool,
        /// the command
        #[argh(positional, greedy)]
        command: Vec<String>,
    }

    impl Chained for Opts {
        fn command_len(&self) -> usize {
            self.command.len()
        }

        fn version_asked(&self) -> bool {
            self.version
        }
    }

    fn os(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    #[test]
    fn tail_starts_at_first_operand_and_is_kept_whole() {
        let argv = os(&["t", "--flag", "sh", "-c", "x", "--help", "--", "--flag"]);
        let (opts, tail) = split::<Opts>("t", &argv).expect("parses");
        assert!(opts.flag);
        assert_eq!(tail, os(&["sh", "-c", "x", "--help", "--", "--flag"]));
    }

    #[test]
    fn only_the_first_double_dash_is_consumed() {
        let argv = os(&["t", "--value", "v", "--", "--", "prog"]);
        let (opts, tail) = split::<Opts>("t", &argv).expect("parses");
        assert_eq!(opts.value.as_deref(), Some("v"));
        assert_eq!(tail, os(&["--", "prog"]));
    }

    #[test]
    fn non_utf8_tail_is_passed_through_byte_exact() {
        let mut argv = os(&["t", "prog"]);
        argv.push(OsString::from_vec(vec![0xff, b'a', 0xfe]));
        let (_, tail) = split::<Opts>("t", &argv).expect("parses");
        assert_eq!(tail[1], OsString::from_vec(vec![0xff, b'a', 0xfe]));
    }

    #[test]
    fn non_utf8_own_option_is_a_usage_error() {
        let argv =
            vec![OsString::from("t"), OsString::from("--value"), OsString::from_vec(vec![0xff]), OsString::from("p")];
        assert!(matches!(split::<Opts>("t", &argv), Err(Exit::Usage(_))));
    }

    #[test]
    fn version_after_an_option_is_refused_and_after_the_command_passed_on() {
        assert!(matches!(split::<Opts>("t", &os(&["t", "--flag", "--version"])), Err(Exit::Usage(_))));
        let (opts, tail) = split::<Opts>("t", &os(&["t", "prog", "--version"])).expect("parses");
        assert!(!opts.version);
        assert_eq!(tail, os(&["prog", "--version"]));
    }

    #[test]
    fn the_word_help_is_a_command() {
        let (_, tail) = split::<Opts>("t", &os(&["t", "help"])).expect("parses");
        assert_eq!(tail, os(&["help"]));
    }

    #[test]
    fn help_and_version_exit_early() {
        assert!(matches!(split::<Opts>("t", &os(&["t", "--help"])), Err(Exit::Help(_))));
        assert!(matches!(split::<Opts>("t", &os(&["t", "--version"])), Err(Exit::Help(_))));
    }

    #[test]
    fn unknown_option_is_a_usage_error() {
        match split::<Opts>("t", &os(&["t", "--nope", "prog"])) {
            Err(Exit::Usage(message)) => assert!(message.starts_with("unrecognized argument: --nope"), "{message}"),
            other => panic!("unexpected {other:?}"),
        }
    }
}
