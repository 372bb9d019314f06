# Ce que la commande `tandem` affiche pour les gens dans le terminal (src/*.rs). Les événements
# JSON (`--json`) restent en anglais et ne sont pas ici.

## Commun à plusieurs commandes
cli-session-ended = Session terminée : { $reason }
cli-session-task-failed = la tâche de la session a échoué
cli-wrote-file = Fichier { $path } écrit.
cli-cannot-write-file = Impossible d’écrire { $path } : { $reason }
cli-stdin-failed = avertissement : impossible de lire les commandes sur l’entrée standard : { $error }
cli-runtime-failed = démarrage de l’environnement asynchrone
cli-unknown-language = `{ $tag }` n’est pas une langue que Tandem parle : en ou fr
cli-unknown-theme = `{ $name }` n’est pas un thème : light (clair), dark (sombre) ou system (celui du système)
cli-unknown-host-key = `{ $name }` n’est pas une touche hôte : { $names }

## tandem share (src/share_cmd.rs)
share-peer-name = Le technicien
share-auto-accept-warning = avertissement : --auto-accept : quiconque entre le code pourra { $grant ->
    [control] voir votre écran et prendre le contrôle de votre souris et de votre clavier
   *[other] voir votre écran
} sans qu’on vous le demande
share-window-failed = avertissement : la fenêtre d’état n’a pas pu s’ouvrir ({ $error }) ; on continue dans le terminal
share-failed = le partage a échoué
share-connected = Connecté au relais { $relay }.
share-your-code = Votre code :  { $code }
share-code-instructions = Lisez-le à votre technicien. Il ne sert qu’une fois et expire dans { $minutes ->
    [one] { $minutes } minute
   *[other] { $minutes } minutes
}.
share-paired = Un technicien se connecte ; vérification du code…
share-secured = Code confirmé. Numéro de vérification : { $verifier }
share-reconnecting = Reconnexion… la connexion a été perdue ; rien n’est partagé jusqu’à son retour (jusqu’à { $seconds } s).
share-resumed = Reconnecté : la session continue avec les mêmes autorisations.
share-consent-in-window = { $technician } veut { $grant ->
    [control] prendre le contrôle de votre souris et de votre clavier
    [diagnostics] lire des renseignements sur cet ordinateur (système, mémoire, disques, réseau, programmes en cours)
    [recording] enregistrer votre écran (vous pouvez l’arrêter avec `record off` ; si vous refusez, la session continue)
   *[view] voir votre écran
} : répondez dans la fenêtre de Tandem.
share-consent-in-terminal = { $technician } veut { $grant ->
    [control] prendre le contrôle de votre souris et de votre clavier
    [diagnostics] lire des renseignements sur cet ordinateur (système, mémoire, disques, réseau, programmes en cours)
    [recording] enregistrer votre écran (vous pouvez l’arrêter avec `record off` ; si vous refusez, la session continue)
   *[view] voir votre écran
}. Autoriser ? [y/N]
share-consent-withdrawn = Cette question n’attend plus de réponse.
share-permissions-control = { $technician } peut voir votre écran et le contrôler.{ $clipboard ->
    [shared] { " " }Vos presse-papiers sont partagés (`clipboard off` pour arrêter).
   *[not-shared] { "" }
} Tapez `revoke` pour reprendre le contrôle, `stop` pour terminer.
share-permissions-view = { $technician } peut voir votre écran.{ $clipboard ->
    [shared] { " " }Vos presse-papiers sont partagés (`clipboard off` pour arrêter).
   *[not-shared] { "" }
} Tapez `stop` pour terminer.
share-permissions-none = { $technician } ne peut pas voir votre écran.
share-feedback-in-window = La session se termine. Comment cela s’est-il passé ? Répondez dans la fenêtre de Tandem.
share-feedback-in-terminal = La session se termine. Comment cela s’est-il passé ? Tapez un chiffre de 1 (mal) à 5 (très bien), suivi si vous le voulez d’un commentaire, ou appuyez sur Entrée pour passer.
share-recording-on = Enregistrement : le technicien enregistre votre écran. Tapez `record off` pour l’arrêter.
share-recording-off = Le technicien n’enregistre plus votre écran.
share-recording-refused = Vous avez refusé l’enregistrement ; la session continue.
share-feedback-delivered = Merci : votre réponse a été transmise au technicien.
share-feedback-not-delivered = Merci : le technicien était déjà parti, votre réponse figure donc seulement dans votre rapport de session.
share-diagnostics-shared = Le technicien a reçu un relevé des renseignements système de cet ordinateur.
share-input-dropped = Les actions du technicien ont été ignorées : il n’a pas le contrôle.
share-control-released = Le technicien vous a rendu le contrôle : il voit seulement votre écran maintenant.
share-technician-clipboard-on = Le technicien a réactivé le partage du presse-papiers de son côté.
share-technician-clipboard-off = Le technicien a désactivé le partage du presse-papiers : les presse-papiers ne sont plus partagés.
share-shown-screen-on = Le technicien vous montre son écran (vous regardez seulement ; `close-shown` le ferme).
share-shown-screen-off = L’écran du technicien n’est plus affiché.
share-shown-frame = L’écran du technicien : { $width }x{ $height }.
share-input-summary = Actions du technicien : { $injected } appliquées, { $discarded } écartées.
share-commands-help = commandes : y, n, revoke, record off, clipboard on|off|auto, new, stop, close-shown, shown-snapshot CHEMIN, { $collab }
share-shown-snapshot-nothing = le technicien ne montre pas son écran

## Discussion, presse-papiers et fichiers dans le terminal (src/collab_cli.rs)
collab-commands-help = send CHEMIN, chat TEXTE, accept ID, refuse ID, cancel ID
collab-chat-from-you = Vous : { $text }
collab-chat-from-peer = { $peer } : { $text }
collab-clipboard-sent = Votre presse-papiers ({ $format ->
    [image] image
   *[text] texte
}, { $size }) a été partagé.
collab-clipboard-received = { $peer } a partagé son presse-papiers ({ $format ->
    [image] image
   *[text] texte
}, { $size }) : il est maintenant dans le vôtre.
collab-files-what = { $files ->
    [one] { $name } ({ $size })
   *[other] { $name } : { $files } fichiers, { $size }
}
collab-file-offered-ask = { $peer } veut vous envoyer { $what }. Accepter ? [y/N] (ou `accept { $id }` / `refuse { $id }`)
collab-file-offered = { $peer } veut vous envoyer { $what }.
collab-file-offer-sent = { $name } proposé ({ $files ->
    [one] { $files } fichier
   *[other] { $files } fichiers
}, { $size }) sous { $transfer }. { $peer } doit maintenant l’accepter.
collab-files-not-sent = Non envoyés : { $names }.
collab-transfer-resumes = Le transfert { $transfer } commence et reprend après les { $size } déjà reçus.
collab-transfer-starts = Le transfert { $transfer } commence.
collab-transfer-progress = { $transfer } { $name } : { $percent } % ({ $done } sur { $total }) à { $rate }/s
collab-transfer-progress-eta = { $progress }, encore { $seconds } s
collab-file-received = { $path } reçu ({ $size }), vérifié.
collab-transfer-done = Transfert { $transfer } terminé : { $name } { $direction ->
    [sent] envoyé
   *[received] reçu
} ({ $files ->
    [one] { $files } fichier
   *[other] { $files } fichiers
}, { $size } en { $seconds } s, { $rate }/s).
collab-transfer-failed = Le transfert { $transfer } ({ $name }) s’est arrêté : { $reason }

## tandem join (src/join_cmd.rs)
join-default-name = Votre technicien
join-peer-name = L’utilisateur
join-not-a-code = ce n’est pas un code Tandem
join-window-failed = avertissement : la fenêtre de visualisation n’a pas pu s’ouvrir ({ $error }) ; on continue sans fenêtre
join-failed = la session a échoué
join-connected = Connecté au relais ; recherche de la session…
join-paired = Session trouvée ; vérification du code…
join-secured = Code confirmé. Numéro de vérification : { $verifier }. En attente de l’autorisation de l’utilisateur…
join-reconnecting = Reconnexion… la connexion avec l’hôte a été perdue (nouvelles tentatives pendant { $seconds } s au plus).
join-resumed = Reconnecté : la session continue.
join-permissions-control = Vous pouvez voir et contrôler l’écran.{ $clipboard ->
    [shared] { " " }Les presse-papiers sont partagés.
   *[not-shared] { "" }
}
join-permissions-view = Vous pouvez voir l’écran (sans le contrôler).{ $clipboard ->
    [shared] { " " }Les presse-papiers sont partagés.
   *[not-shared] { "" }
}
join-permissions-none = L’utilisateur ne vous a pas autorisé à voir l’écran.
join-feedback = L’utilisateur a noté la session { $rating }/5.
join-feedback-comment = L’utilisateur a noté la session { $rating }/5 : { $comment }
join-diagnostics-declined = L’utilisateur a refusé de partager les renseignements sur son système.
join-diagnostics = Les renseignements sur le système de l’utilisateur :
join-control-request-not-sent = Demande de contrôle non envoyée : l’utilisateur vient de répondre. Réessayez dans { $seconds } s.
join-monitors = Les écrans de l’utilisateur (`monitor N` ou `monitor all`) :
join-monitor-at = { $monitor } à { $x },{ $y }
join-showing-on = L’utilisateur voit maintenant votre écran (en lecture seule ; `show off` l’arrête).
join-showing-closed = L’utilisateur a fermé votre écran.
join-showing-failed = Votre écran n’est pas affiché : { $reason }
join-showing-off = Vous avez cessé de montrer votre écran.
join-key-mode-text = Clavier : mode texte (ce que vous tapez s’affiche, quelle que soit la disposition).
join-key-mode-physical = Clavier : mode physique (touches selon leur position).
join-control-declined = L’utilisateur a refusé votre demande de contrôle ; vous voyez toujours l’écran et pouvez redemander.
join-clipboard-switch-on = Le partage du presse-papiers est activé de votre côté : les presse-papiers circulent si l’utilisateur le permet.
join-clipboard-switch-off = Le partage du presse-papiers est désactivé de votre côté : aucun presse-papiers ne circule.
join-first-frame = Réception de l’écran ({ $width }x{ $height }).
join-stats = { $width }x{ $height }, { $frames } images, { $overlay }
join-cursor-shape = Le pointeur de l’utilisateur a changé ({ $width }x{ $height }).
join-snapshot = Ce que le visualiseur a décodé a été écrit dans { $path }
join-finishing = Fin en cours : on demande peut-être à l’utilisateur comment cela s’est passé ; en attente de sa réponse (une minute au plus). `end` de nouveau termine tout de suite.
join-summary = { $frames } images en { $seconds } s ({ $fps } images/s), { $per_frame } octets par image en moyenne
join-recording-asking = Demande d’autorisation d’enregistrer envoyée à l’utilisateur…
join-recording-refused = L’utilisateur a refusé l’enregistrement ; la session continue.
join-recording-started = Enregistrement dans { $path } (`record off` pour arrêter).
join-recording-stopped = Enregistrement arrêté : { $path } ({ $bytes } octets). Revoyez-le avec `tandem play { $path }`.
join-recording-failed = L’enregistrement dans { $path } a échoué : { $reason }
join-note-added = Note ajoutée au rapport de session.
join-outcome-help = outcome : resolved, not-resolved ou escalated, puis un résumé facultatif
join-outcome-set = Résultat noté : { $outcome }.
join-monitor-help = monitor : un numéro de la liste des écrans, ou all
join-keys-error = keys : { $error }
join-keymode-help = keymode : text ou physical
join-commands-help = commandes : snapshot CHEMIN, control, release, clipboard on|off, monitor N|all, show on|off, record on|off, keys COMBINAISON, keymode text|physical, end, y, n, { $collab }

## D’où vient le relais (src/trust.rs)
trust-source-builtin = le relais intégré à ce programme
trust-no-relay = aucun relais configuré : collez l’invitation que votre service informatique vous a donnée (`--invite tandem://…`), ou ajoutez `invite = "tandem://…"` dans { $file } (affichée par `tandem relay`)
trust-reading-config = lecture de { $path }
trust-config-invalid = { $path } n’est pas valide
trust-invite-or-relay = { $source } : indiquez soit `invite`, soit `relay` avec `fingerprint` ou `ca` (pas les deux)
trust-fingerprint-invalid = { $source } : l’empreinte n’est pas une empreinte SHA-256 valide
trust-fingerprint-and-ca = { $source } : indiquez une empreinte ou un fichier d’autorité de certification, pas les deux
trust-no-fingerprint = { $source } : indiquez comment faire confiance au relais : son empreinte (affichée par `tandem relay`) ou un fichier d’autorité de certification
trust-invite-scheme = { $source } : une invitation commence par { $scheme } (comme l’affiche `tandem relay`)
trust-invite-no-fingerprint = { $source } : l’invitation n’a pas de partie #empreinte
trust-invite-address = { $source } : l’adresse du relais dans l’invitation doit être HÔTE:PORT
trust-invite-fingerprint-invalid = { $source } : l’empreinte de l’invitation n’est pas valide

## tandem relay (src/relay_cmd.rs)
relay-listening = Relais Tandem à l’écoute sur { $addr } (UDP)
    Empreinte du certificat : { $fingerprint }
    Invitation pour les utilisateurs : { $invite }
    (`tandem share --invite …`, ou `invite = "…"` dans ~/.config/tandem/client.toml ou /etc/tandem/client.toml ; --public-host choisit l’hôte qu’utilisent les clients)
relay-metrics = Métriques : http://{ $addr }/metrics (aussi /healthz, /readyz)
relay-cluster-node = Nœud de grappe { $node } : les codes sont partagés par Redis
relay-draining = Vidange : plus de nouveaux codes ; les sessions en cours peuvent se terminer (envoyez SIGTERM de nouveau pour arrêter tout de suite).
relay-task-failed = la tâche du relais a échoué
relay-stopped = Relais arrêté.
relay-reload-skipped = SIGHUP : aucun fichier --config à recharger ; rien n’a changé.
relay-reloading-certificate = rechargement du certificat
relay-reloaded-certificate = { $path } rechargé : limites, durée de vie des codes et certificat (empreinte { $fingerprint }).
relay-reloaded = { $path } rechargé : limites, durée de vie des codes et certificat (empreinte inchangée).
relay-reload-failed = Échec du rechargement, la configuration en cours est conservée : { $error }
relay-session-started = session { $session } appariée
relay-session-ended = session { $session } terminée : { $reason }
relay-reading-config = lecture de la configuration du relais { $path }
relay-parsing-config = analyse de la configuration du relais { $path }
relay-starting = démarrage du relais

## tandem demo (src/demo_cmd.rs)
demo-finding-executable = recherche de l’exécutable tandem
demo-starting-xvfb = Aucun affichage utilisé : démarrage d’un affichage virtuel (Xvfb) avec du contenu animé…
demo-xvfb-failed = démarrage de Xvfb (installez-le avec scripts/install-deps.sh)
demo-no-xterm = (xterm n’est pas installé ; l’écran partagé ne montre que la fenêtre de Tandem)
demo-relay-failed = démarrage du relais intégré
demo-relay-listening = Relais à l’écoute sur { $addr } (empreinte { $fingerprint })
demo-share-ended = tandem share s’est terminé : { $reason }
demo-code-issued = Code émis : { $code }
demo-technician-name = Technicien de démonstration
demo-window-open = La fenêtre de visualisation est ouverte : fermez-la pour terminer la démonstration.
demo-secured = Code confirmé de bout en bout ; numéro de vérification { $verifier }
demo-permissions = L’utilisateur a autorisé : voir={ $view } contrôler={ $control }
demo-stats = { $frames } images, { $fps } images/s, { $per_frame } octets/image
demo-summary = Le visualiseur a reçu { $frames } images en { $seconds } s : { $fps } images/s, { $per_frame } octets par image en moyenne
demo-snapshot = Ce que le visualiseur a décodé : { $path }
demo-unclean-exit = un processus ne s’est pas terminé proprement (join réussi : { $join }, share réussi : { $share })
demo-starting = démarrage de { $what }
demo-child-silent = { $what } n’a rien dit pendant { $seconds } s
demo-child-exited = { $what } s’est arrêté

## tandem play (src/play_cmd.rs)
play-cannot-open = impossible de lire { $path }
play-opened = { $path } : { $seconds } s, { $updates ->
    [one] { $updates } mise à jour de l’écran
   *[other] { $updates } mises à jour de l’écran
}
play-truncated = (le fichier est tronqué : la lecture va jusqu’au dernier enregistrement complet)
play-damaged = (illisible à partir d’un certain point : { $error })
play-png-at-time = --png-at prend un temps en secondes (p. ex. 12.5) et un nom de fichier
play-cannot-decode = impossible de décoder { $path } jusqu’à { $seconds } s
play-cannot-write = impossible d’écrire { $path }
play-frame-written = L’image à { $seconds } s ({ $width }x{ $height }) a été écrite dans { $path }
play-no-display = aucun affichage où ouvrir le lecteur : utilisez --png-at SECONDES SORTIE.png
play-title = Enregistrement Tandem — { $path }
play-window-failed = la fenêtre du lecteur n’a pas pu s’ouvrir : { $error }

## tandem bench (src/bench_cmd.rs) ; le tableau lui-même vient du crate bench, en anglais
bench-no-corpus = aucun corpus trouvé : indiquez --corpus DOSSIER (des sous-dossiers de frame_NNNN.png)
bench-progress-frames = images
bench-failed = mesure du corpus dans { $path }

## Le rapport de session en Markdown (src/report.rs) ; ses clés et valeurs JSON restent en anglais
report-untitled = session de soutien
report-title = Rapport de session Tandem : { $title }
report-row-label = { $label } :
report-row-side = Rapport du côté
report-row-ticket = Billet
report-row-technician = Technicien
report-row-machine = Ordinateur de l’utilisateur
report-row-started = Début
report-row-ended = Fin
report-row-duration = Durée
report-row-check-number = Numéro de vérification
report-row-outcome = Résultat
report-row-summary = Résumé
report-row-feedback = Avis de l’utilisateur
report-row-ended-how = Comment la session s’est terminée
report-side = { $side ->
    [technician] technicien
   *[user] utilisateur
}
report-seconds = { $seconds } s
report-outcome = { $outcome ->
    [resolved] résolu
    [not-resolved] non résolu
   *[escalated] transmis au niveau supérieur
}
report-permissions = Autorisations
report-permissions-none = Aucune accordée.
report-permission = { $what ->
    [control] voir et contrôler l’écran
    [view] voir l’écran
   *[nothing] rien
}{ $clipboard ->
    [shared] , presse-papiers partagé
   *[not-shared] { "" }
}
report-recording = Enregistrement
report-recording-none = Pas d’enregistrement.
report-recording-refused = demande d’enregistrement ; l’utilisateur a refusé
report-recording-unanswered = demande d’enregistrement ; aucune réponse
report-recording-span = { $from } à { $to }
report-recording-status = { $status ->
    [recorded] enregistrée
    [failed] échec
   *[other] { $status }
}
report-recording-file = { " " }dans `{ $file }`
report-recording-bytes = , { $bytes } octets
report-link = La liaison
report-link-none = Jamais perdue.
report-link-resumed = perdue ; la session a repris à { $resumed }
report-link-not-resumed = perdue ; la session n’a pas repris
report-shown = L’écran du technicien montré à l’utilisateur
report-shown-none = Jamais montré.
report-shown-shown = montré
report-shown-closed = montré, fermé par l’utilisateur
report-shown-failed = montré, arrêté : { $reason }
report-files = Fichiers
report-files-none = Aucun.
report-file-failed = échec : { $reason }
report-file-sizes = { $files ->
    [one] { $files } fichier
   *[other] { $files } fichiers
}, { $bytes } octets
report-file-direction = { $direction ->
    [sent] envoyé
   *[received] reçu
}
report-file-received = { $bytes } octets, BLAKE3 `{ $blake3 }`
report-chat = Discussion
report-chat-none = Aucun message.
report-notes = Notes
report-notes-none = Aucune.
report-system = Renseignements système
report-system-none = Non partagés.
report-cannot-create-folder = impossible de créer le dossier des rapports { $path }
report-cannot-serialise = impossible de sérialiser le rapport
report-written = Rapport de session : { $path }
report-failed = Le rapport de session n’a pas pu être écrit : { $error }
report-posted = Rapport de session envoyé à { $url } (HTTP { $status }).
report-webhook-failed = Le rapport de session n’a pas pu être envoyé à { $url } : { $reason }
