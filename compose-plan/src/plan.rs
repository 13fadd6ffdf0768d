//! The project as the runner (scripts/ccompose) takes it: the services
//! in start order, each with its `contain` options, printed as bash
//! assignments whose every value is single-quoted data.

use std::fmt::Write;
use std::path::Path;

use anyhow::bail;

use crate::model::{Image, Mount, Project, Service};

/// The services' indexes in start order: each after what it depends on,
/// otherwise in the file's order.
pub fn start_order(project: &Project) -> anyhow::Result<Vec<usize>> {
    let services = &project.services;
    for service in services {
        for (dependency, _) in &service.depends_on {
            if !services.iter().any(|s| &s.name == dependency) {
                bail!("services.{}.depends_on: no service '{dependency}'", service.name);
            }
            if dependency == &service.name {
                bail!("services.{}.depends_on: a service cannot depend on itself", service.name);
            }
        }
    }
    let mut order: Vec<usize> = Vec::new();
    while order.len() < services.len() {
        let ready = (0..services.len()).find(|&i| {
            !order.contains(&i)
                && services[i].depends_on.iter().all(|(d, _)| order.iter().any(|&j| &services[j].name == d))
        });
        match ready {
            Some(i) => order.push(i),
            None => {
                let left: Vec<&str> =
                    (0..services.len()).filter(|i| !order.contains(i)).map(|i| services[i].name.as_str()).collect();
                bail!("services: the dependencies of {} form a cycle", left.join(", "));
            }
        }
    }
    Ok(order)
}

/// The name of SERVICE's container, as docker compose names them.
pub fn container_name(project: &Project, service: &Service) -> anyhow::Result<String> {
    let name = format!("{}-{}-1", project.name, service.name);
    if name.len() > 63 {
        bail!("services.{}: the container name '{name}' is longer than 63 characters", service.name);
    }
    Ok(name)
}

/// contain's options and command for SERVICE (without -d: the runner
/// adds it, or runs it in the foreground under its supervisor).
pub fn contain_args(project: &Project, service: &Service, volumes_dir: &Path) -> anyhow::Result<Vec<String>> {
    let mut args = vec!["--name".to_string(), container_name(project, service)?];
    let mut push = |option: &str, value: &str| {
        args.push(option.to_string());
        args.push(value.to_string());
    };
    if let Some(hostname) = &service.hostname {
        push("--hostname", hostname);
    }
    let Some(network) = project.networks.iter().find(|n| n.key == service.network) else {
        bail!("services.{}: no network '{}'", service.name, service.network);
    };
    push("--network", &network.name);
    // The service's name resolves to it on the network, as in compose.
    push("--network-alias", &service.name);
    for alias in &service.aliases {
        push("--network-alias", alias);
    }
    for port in &service.ports {
        push("-p", port);
    }
    for mount in &service.mounts {
        match mount {
            Mount::Bind { source, target, read_only } => {
                push("-v", &format!("{}:{target}{}", source.display(), if *read_only { ":ro" } else { "" }))
            }
            Mount::Named { volume, target, read_only } => {
                let Some(volume) = project.volumes.iter().find(|v| &v.key == volume) else {
                    bail!("services.{}.volumes: no volume '{volume}'", service.name);
                };
                let source = volumes_dir.join(&volume.name);
                push("-v", &format!("{}:{target}{}", source.display(), if *read_only { ":ro" } else { "" }))
            }
            Mount::Tmpfs { target, size } => match size {
                Some(size) => push("--tmpfs", &format!("{target}:{size}")),
                None => push("--tmpfs", target),
            },
        }
    }
    if service.read_only {
        args.push("--read-only".into());
    }
    let mut push = |option: &str, value: &str| {
        args.push(option.to_string());
        args.push(value.to_string());
    };
    if let Some(memory) = &service.memory {
        push("--memory", memory);
    }
    if let Some(cpus) = &service.cpus {
        push("--cpus", cpus);
    }
    if let Some(pids) = &service.pids {
        push("--pids-limit", pids);
    }
    for cap in &service.cap_add {
        push("--cap-add", cap);
    }
    for cap in &service.cap_drop {
        push("--cap-drop", cap);
    }
    if let Some(user) = &service.user {
        push("--user", user);
    }
    if let Some(dir) = &service.working_dir {
        push("--workdir", dir);
    }
    for file in &service.env_files {
        push("--env-file", &file.display().to_string());
    }
    for env in &service.environment {
        push("-e", env);
    }
    let mut command: Vec<String> = service.entrypoint.clone().unwrap_or_default();
    command.extend(service.command.clone().unwrap_or_default());
    match &service.image {
        Image::Builtin => args.push("--".into()),
        Image::Dir(dir) => {
            push("--rootfs", &dir.display().to_string());
            // The directory is an image: shared, never written.
            args.push("--overlay".into());
            args.push("--".into());
        }
        Image::Registry(reference) => args.push(reference.clone()),
    }
    args.extend(command);
    Ok(args)
}

/// WORD in single quotes, for bash to read back as data.
pub fn quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

fn array(out: &mut String, name: &str, words: &[String]) {
    let quoted: Vec<String> = words.iter().map(|w| quote(w)).collect();
    let _ = writeln!(out, "{name}=({})", quoted.join(" "));
}

/// The whole plan, as bash assignments.
pub fn render(project: &Project, volumes_dir: &Path) -> anyhow::Result<String> {
    let order = start_order(project)?;
    let mut out = String::new();
    let _ = writeln!(out, "project={}", quote(&project.name));
    let used = |external: bool| -> Vec<String> {
        project.networks.iter().filter(|n| n.used && n.external == external).map(|n| n.name.clone()).collect()
    };
    array(&mut out, "networks", &used(false));
    array(&mut out, "external_networks", &used(true));
    let volumes = |external: bool| -> Vec<String> {
        project.volumes.iter().filter(|v| v.external == external).map(|v| v.name.clone()).collect()
    };
    array(&mut out, "volumes", &volumes(false));
    array(&mut out, "external_volumes", &volumes(true));
    let mut names = Vec::new();
    let mut containers = Vec::new();
    let mut restarts = Vec::new();
    let mut healths = Vec::new();
    for (n, &i) in order.iter().enumerate() {
        let service = &project.services[i];
        names.push(service.name.clone());
        containers.push(container_name(project, service)?);
        restarts.push(service.restart.clone());
        match &service.health {
            Some(h) => {
                healths.push(format!("{} {} {} {}", h.interval_ms, h.timeout_ms, h.retries, h.start_period_ms));
                array(&mut out, &format!("health_{n}"), &h.test);
            }
            None => {
                healths.push(String::new());
                array(&mut out, &format!("health_{n}"), &[]);
            }
        }
        let depends: Vec<String> = service.depends_on.iter().map(|(d, c)| format!("{d} {}", c.as_str())).collect();
        array(&mut out, &format!("depends_{n}"), &depends);
        array(&mut out, &format!("contain_{n}"), &contain_args(project, service, volumes_dir)?);
    }
    array(&mut out, "services", &names);
    array(&mut out, "containers", &containers);
    array(&mut out, "restarts", &restarts);
    array(&mut out, "healths", &healths);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interpolate::Variables;

    fn plan(text: &str) -> anyhow::Result<Project> {
        let value = crate::model::load(text)?;
        crate::model::project(&value, Path::new("/p/app"), None, &Variables::from_pairs(&[]))
    }

    #[test]
    fn order_follows_dependencies_then_the_file() {
        let p = plan("services:\n  web: {command: x, depends_on: [db]}\n  db: {command: y}\n  cache: {command: z}\n")
            .unwrap();
        let names: Vec<&str> = start_order(&p).unwrap().iter().map(|&i| p.services[i].name.as_str()).collect();
        assert_eq!(names, ["db", "web", "cache"]);
    }

    #[test]
    fn cycles_and_unknown_dependencies_are_refused() {
        let p = plan("services:\n  a: {command: x, depends_on: [b]}\n  b: {command: y, depends_on: [a]}\n").unwrap();
        assert_eq!(start_order(&p).unwrap_err().to_string(), "services: the dependencies of a, b form a cycle");
        let p = plan("services:\n  a: {command: x, depends_on: [nope]}\n").unwrap();
        assert_eq!(start_order(&p).unwrap_err().to_string(), "services.a.depends_on: no service 'nope'");
    }

    #[test]
    fn unknown_keys_are_named_by_path() {
        let err = plan("services:\n  web:\n    command: x\n    foo: 1\n").err().unwrap();
        assert_eq!(err.to_string(), "services.web.foo: unsupported key");
        let err =
            plan("services:\n  web:\n    command: x\n    deploy: {resources: {reservations: {}}}\n").err().unwrap();
        assert_eq!(err.to_string(), "services.web.deploy.resources.reservations: unsupported key");
        let err = plan("secrets: {}\nservices: {web: {command: x}}\n").err().unwrap();
        assert_eq!(err.to_string(), "secrets: unsupported key");
    }

    #[test]
    fn contain_options() {
        let p = plan(
            "services:\n  web:\n    image: ./root\n    command: httpd -f -p 80\n    ports: ['8080:80']\n    \
             volumes: ['data:/srv:ro', './html:/www']\n    mem_limit: 64m\n    environment: {A: '1'}\n\
             volumes:\n  data:\n",
        )
        .unwrap();
        let args = contain_args(&p, &p.services[0], Path::new("/v")).unwrap();
        assert_eq!(
            args.join(" "),
            "--name app-web-1 --network app_default --network-alias web -p 8080:80 -v /v/app_data:/srv:ro \
             -v /p/app/html:/www --memory 64M -e A=1 --rootfs /p/app/root --overlay -- httpd -f -p 80"
        );
    }

    #[test]
    fn every_supported_key() {
        let p = plan(
            "x-base: &base\n  read_only: true\n\
             services:\n  web:\n    <<: *base\n    image: registry.example/web:1\n    command: [serve, --port, '80']\n\
             \x20   environment: [A=1, 'B=x y']\n    env_file: web.env\n    hostname: box\n    user: '1000:1000'\n\
             \x20   working_dir: /srv\n    cap_add: [NET_ADMIN]\n    cap_drop: [ALL]\n    tmpfs: ['/run:size=8m']\n\
             \x20   ports: [{target: 80, published: 8080, host_ip: 127.0.0.1, protocol: tcp}]\n\
             \x20   volumes: [{type: bind, source: ./d, target: /d, read_only: true}, {type: tmpfs, target: /t}]\n\
             \x20   networks: {front: {aliases: [www]}}\n\
             \x20   deploy: {resources: {limits: {cpus: '0.5', memory: 1g, pids: 64}}}\n\
             \x20   healthcheck: {test: [CMD-SHELL, 'true'], interval: 1m, retries: 2}\n\
             \x20   restart: on-failure:3\n\
             networks:\n  front:\n    name: shared\n",
        )
        .unwrap();
        let web = &p.services[0];
        let args = contain_args(&p, web, Path::new("/v")).unwrap();
        assert_eq!(
            args.join(" "),
            "--name app-web-1 --hostname box --network shared --network-alias web --network-alias www \
             -p 127.0.0.1:8080:80/tcp --tmpfs /run:8M -v /p/app/d:/d:ro --tmpfs /t --read-only --memory 1G \
             --cpus 0.5 --pids-limit 64 --cap-add NET_ADMIN --cap-drop ALL --user 1000:1000 --workdir /srv \
             --env-file /p/app/web.env -e A=1 -e B=x y registry.example/web:1 serve --port 80"
        );
        let health = web.health.as_ref().unwrap();
        assert_eq!(health.test, ["/bin/sh", "-c", "true"]);
        assert_eq!((health.interval_ms, health.retries), (60_000, 2));
        assert_eq!(web.restart, "on-failure:3");
    }

    #[test]
    fn refusals_name_the_value() {
        let err = |text: &str| plan(text).err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(
            err("services:\n  w: {command: x, ports: ['80']}\n"),
            "services.w.ports[0]: '80' publishes no host port (a random host port is not supported: write HOST:CONTAINER)"
        );
        assert_eq!(
            err("services:\n  w: {command: x, volumes: ['data:/d']}\n"),
            "services.w.volumes[0]: the volume 'data' is not declared in the top-level volumes"
        );
        assert_eq!(
            err("services:\n  w: {command: x, networks: [a, b]}\nnetworks: {a: {}, b: {}}\n"),
            "services.w.networks: exactly one network per service is supported (contain attaches a container to one)"
        );
        assert_eq!(
            err("services:\n  w: {command: x, restart: sometimes}\n"),
            "services.w.restart: invalid policy 'sometimes' (no, always, on-failure[:N], unless-stopped)"
        );
        assert_eq!(
            err("services:\n  w: {image: r/x, entrypoint: sh}\n"),
            "services.w.entrypoint: contain keeps a registry image's own Entrypoint (put the program in command instead)"
        );
    }

    #[test]
    fn quoting() {
        assert_eq!(quote("it's"), r"'it'\''s'");
    }
}
