# L’aide de `tandem --help` et de chaque commande (src/help_text.rs). Les ids viennent de l’arbre
# des commandes : `help-<commande>` résume une commande (`help-tandem` pour `tandem` lui-même) et
# `help-<commande>-<argument>` explique un argument. Les tests du binaire échouent s’il manque une
# entrée ou si une entrée ne nomme aucune commande ni aucun argument.
# La valeur par défaut, les valeurs possibles et la variable d’environnement s’ajoutent après le texte.

## tandem (src/main.rs)
help-tandem = Assistance à distance avec un code à usage unique
help-tandem-verbose = Plus de lignes de journal sur la sortie d’erreur : -v montre aussi les lignes d’information et les avertissements des autres bibliothèques, -vv les lignes de débogage. `RUST_LOG` a priorité
help-tandem-lang = La langue des fenêtres et des messages : en ou fr (par défaut : celle du système, sinon l’anglais)

## tandem relay (src/relay_cmd.rs)
help-relay = Faire fonctionner le relais qui met en relation les postes partagés et les techniciens
help-relay-listen = Adresse UDP d’écoute [par défaut : 0.0.0.0:7447, ou la clé `listen` du fichier de configuration]
help-relay-data-dir = Où le relais garde son certificat et sa clé (par défaut : $XDG_DATA_HOME/tandem/relay ou ~/.local/share/tandem/relay ; sous systemd, $STATE_DIRECTORY)
help-relay-config = Un fichier de configuration TOML (limites, durée de vie des codes, fichiers de certificat, métriques) ; les options ont priorité sur lui. Voir contrib/relay.toml pour toutes les clés. SIGHUP le relit
help-relay-metrics = Adresse TCP pour /metrics (Prometheus), /healthz et /readyz, par exemple 127.0.0.1:9447
help-relay-cluster = Se joindre à une grappe de relais qui partagent un même répertoire de codes en attente dans Redis, par exemple redis://10.0.0.5:6379/0 (ou la table [cluster] du fichier de configuration)
help-relay-cluster-node-id = L’identifiant de ce nœud dans la grappe (par défaut : celui de la configuration, ou un identifiant au hasard)
help-relay-cluster-public-addr = Où les clients joignent ce nœud, hôte:port (par défaut : celle de la configuration, ou l’adresse d’écoute)
help-relay-public-host = Le nom d’hôte (ou l’adresse) que les clients utilisent pour joindre ce relais, pour l’invitation qu’il affiche (par défaut : l’adresse d’écoute si c’est une adresse IP précise, sinon le nom d’hôte de cette machine)
help-relay-log-format = Lignes de journal (sortie d’erreur) en texte ou en un objet JSON par ligne
help-relay-json = Un objet JSON par ligne pour chaque événement (sortie standard)

## tandem share (src/share_cmd.rs, src/trust.rs, src/collab_cli.rs, src/report.rs)
help-share = Partager cet écran : obtenir un code à lire à votre technicien
help-share-invite = Le relais en une seule chaîne, `tandem://HÔTE:PORT#EMPREINTE` (affichée par `tandem relay`)
help-share-relay = Adresse du relais, HÔTE:PORT. Sans elle : le fichier de configuration du client, puis le relais intégré
help-share-fingerprint = L’empreinte SHA-256 du certificat du relais (telle que `tandem relay` l’a affichée)
help-share-ca = Vérifier la chaîne de certificats du relais avec ce fichier d’autorité de certification PEM plutôt qu’avec une empreinte
help-share-reconnect-grace = Si la connexion est perdue, continuer d’essayer de rétablir la même session pendant ce nombre de secondes (sans nouveau code ni nouveau consentement) avant d’y mettre fin ; 0 y met fin tout de suite
help-share-code-ttl = Combien de temps le code reste valide, en secondes (le relais peut le limiter)
help-share-auto-accept = Autoriser sans demander : `view` (voir l’écran) ou `control` (aussi la souris et le clavier). Pour les scripts seulement : quiconque a le code entre
help-share-no-window = Ne pas ouvrir la petite fenêtre d’état même si un écran est disponible (les questions sont posées dans le terminal)
help-share-theme = Les couleurs de la fenêtre : light (claires), dark (sombres) ou system (celles du système, par défaut)
help-share-quality = Qualité des zones photographiques, de 1 à 100 (le texte et l’interface restent toujours exacts)
help-share-fps = Nombre maximal d’images capturées par seconde
help-share-adaptive = S’adapter à une connexion lente (mesurée d’après les accusés de réception du technicien) : baisser la qualité des zones photographiques et la fréquence d’images avant que le délai s’accumule, puis les remonter quand la connexion se dégage. Le texte et l’interface restent exacts dans tous les cas
help-share-downloads = Où vont les fichiers reçus (par défaut : votre dossier Téléchargements, dans `Tandem`). Les fichiers ne sont jamais écrasés : un deuxième `a.txt` devient `a (1).txt`
help-share-accept-files = Accepter sans demander tous les fichiers que l’autre côté envoie (pour les scripts)
help-share-no-clipboard = Ne jamais partager le presse-papiers pendant cette session, quoi qu’il soit permis
help-share-reports = Où le rapport de session (JSON et Markdown) est écrit à la fin (par défaut : ~/.local/share/tandem/reports)
help-share-no-report = N’écrire aucun rapport de session
help-share-no-feedback = Ne pas demander « Comment cela s’est-il passé ? » quand vous arrêtez le partage
help-share-feedback = Demander « Comment cela s’est-il passé ? » quand vous arrêtez le partage, même sans fenêtre ni terminal (réponse sur l’entrée standard : un chiffre de 1 à 5 suivi d’un commentaire facultatif, ou une ligne vide pour passer)
help-share-json = Un objet JSON par ligne pour chaque événement

## tandem join (src/join_cmd.rs ; les options du relais, des fichiers et du rapport sont celles de share)
help-join = Se joindre à un écran partagé avec le code que la personne vous a lu
help-join-code = Le code que la personne vous a lu, par exemple « 482 193 715 »
help-join-invite = { help-share-invite }
help-join-relay = { help-share-relay }
help-join-fingerprint = { help-share-fingerprint }
help-join-ca = { help-share-ca }
help-join-reconnect-grace = { help-share-reconnect-grace }
help-join-name = Votre nom, montré à la personne quand on lui demande de vous laisser entrer (par défaut : « Votre technicien », dans la langue de la personne si c’est la vôtre)
help-join-headless = Sans fenêtre : décoder l’écran et faire rapport (implicite quand aucun écran n’est disponible)
help-join-theme = { help-share-theme }
help-join-host-key = La touche hôte : maintenue, elle fait de la touche suivante un raccourci de la fenêtre (F plein écran, S ajusté ou 1:1, Suppr Ctrl+Alt+Suppr, C demander ou rendre le contrôle, T statistiques, Q terminer) et rien n’atteint l’autre côté. right-ctrl (par défaut), left-ctrl, right-alt, left-alt, right-shift, left-shift, right-super ou left-super
help-join-present = Comment la fenêtre dessine l’image distante : x11 (par défaut ; une fenêtre enfant X11 qui ne reçoit que les rectangles changés, ~8 fois moins de processeur pour le technicien ; egui la dessine tant qu’un menu ou un panneau la recouvre, et là où x11 ne peut pas démarrer), ou egui (la fenêtre se redessine à chaque changement)
help-join-duration = Terminer la session après ce nombre de secondes
help-join-snapshot = Écrire ici une image PNG de l’écran décodé à la fin de la session
help-join-request-control = Demander le contrôle dès que la vue est permise
help-join-clipboard = Votre côté du partage du presse-papiers au départ : `off` empêche les presse-papiers de circuler jusqu’à ce que vous le rallumiez (la barre d’outils, ou `clipboard on` sur l’entrée standard), quoi que la personne permette
help-join-record = Demander à la personne la permission d’enregistrer la session dès que l’écran s’affiche, dans FILE (pour la revoir : `tandem play FILE`). Sans cette option, le bouton Enregistrer de la fenêtre (ou `record on` sur l’entrée standard) enregistre dans ~/.local/share/tandem/recordings
help-join-downloads = { help-share-downloads }
help-join-accept-files = { help-share-accept-files }
help-join-no-clipboard = { help-share-no-clipboard }
help-join-ticket = Le billet que cette session traite (par exemple INC0012345) : il donne son nom au rapport de session
help-join-outcome = Le résultat pour le rapport, s’il est connu d’avance (sinon `outcome ...` sur l’entrée standard)
help-join-reports = { help-share-reports }
help-join-no-report = { help-share-no-report }
help-join-report-webhook = Envoyer (POST) le rapport de session (JSON) à cette URL à la fin, par exemple au webhook d’un système de billets
help-join-json = Un objet JSON par ligne pour chaque événement. Les commandes sont lues sur l’entrée standard : `snapshot PATH`, `control`, `release`, `clipboard on|off`, `monitor N`/`monitor all`, `keys ctrl+alt+del`, `keymode text|physical`, `show on|off`, `record on`/`record off`, `end`, `send PATH`, `chat TEXT`, `accept ID`, `refuse ID`, `cancel ID`, `y`/`n`

## tandem demo (src/demo_cmd.rs)
help-demo = Faire fonctionner le relais, le partage et la connexion sur cette machine en une fois (sur un écran virtuel s’il n’y en a pas)
help-demo-headless = Utiliser un écran virtuel et un technicien sans fenêtre même si un écran est disponible
help-demo-seconds = Sans fenêtre : durée de la session, en secondes
help-demo-snapshot = Sans fenêtre : où écrire l’image PNG de ce que le technicien a décodé

## tandem bench (src/bench_cmd.rs, src/bench_session)
help-bench = Mesurer le codec d’écran sur un corpus d’enregistrements, ou une session réelle (`--session`)
help-bench-corpus = Un dossier dont chaque sous-dossier contient des frame_NNNN.png dans l’ordre (par défaut : ../shared/bench/corpus s’il existe)
help-bench-json = Un objet JSON par extrait et par ligne (avec --session : un seul objet JSON)
help-bench-session = Mesurer une session réelle plutôt que le codec : relais et partage sur un écran Xvfb, la fenêtre du technicien en plein écran sur un autre ; écran immobile, saisie, défilement, déplacement d’une fenêtre et sonde de latence des touches (il faut Xvfb, xterm et xdotool)
help-bench-tandem = Avec --session : le binaire tandem à mesurer (par défaut : celui-ci). Utilisez une version optimisée (release) pour des chiffres fiables
help-bench-compare = Avec --session : exécuter aussi le scénario avec ces autres logiciels, dans la même exécution (vnc = tigervnc et x11vnc)
help-bench-still = Avec --session : secondes d’écran immobile
help-bench-phase = Avec --session : secondes de chacune des phases de saisie, de défilement et de déplacement
help-bench-probes = Avec --session : nombre de touches de la sonde de latence
help-bench-fps = Avec --session : `tandem share --fps`
help-bench-screenshots = Avec --session : écrire ici des images PNG des deux écrans pour chaque logiciel, une fois que le technicien voit A
help-bench-threads = Fils d’exécution de l’encodeur (0 = tous les cœurs)

## tandem play (src/play_cmd.rs)
help-play = Revoir un enregistrement de session (`join --record`), ou en extraire une image PNG
help-play-file = L’enregistrement (`join --record FILE`, ou le bouton Enregistrer du technicien)
help-play-png-at = Décoder jusqu’à ce moment (en secondes depuis le début, par exemple 12.5) et écrire l’image dans OUT.png au lieu d’ouvrir une fenêtre
help-play-json = { help-share-json }

## Les mots de clap, dans l’aide de chaque commande
# Le titre de la ligne d’utilisation ; le deux-points est ajouté après (l’espace insécable est ici).
cli-help-heading-usage = Utilisation{"\u00A0"}
# Titres des sections ; clap ajoute le deux-points.
cli-help-heading-commands = Commandes{"\u00A0"}
cli-help-heading-arguments = Arguments{"\u00A0"}
cli-help-heading-options = Options{"\u00A0"}
cli-help-flag-help = Afficher l’aide
cli-help-flag-version = Afficher la version
cli-help-command-help = Afficher ce message ou l’aide des sous-commandes indiquées
cli-help-default = [par défaut : { $value }]
cli-help-possible-values = [valeurs possibles : { $values }]
cli-help-environment = [variable d’environnement : { $variable }]
