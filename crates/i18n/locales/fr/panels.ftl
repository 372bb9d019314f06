# Les panneaux des deux fenêtres : discussion, fichiers, presse-papiers (crates/collab-ui, les
# panneaux du visualiseur et de l’hôte), renseignements système, notes, statistiques et lecteur.
# `$peer` est la personne de l’autre côté : `user` ou `technician`.

## Discussion, fichiers et presse-papiers (crates/collab-ui)
panel-transfer-summary = { $files ->
    [one] { $name } ({ $size })
   *[other] { $name } : { $files } fichiers, { $size }
}
panel-clipboard-what = { $format ->
    [image] image
   *[text] texte
}, { $size }
panel-clipboard-sent = Votre presse-papiers a été partagé ({ $what }).
panel-clipboard-received = Le presse-papiers { $peer ->
    [user] de l’utilisateur
   *[technician] du technicien
} est maintenant dans le vôtre ({ $what }).
panel-clipboard-failed = Presse-papiers non synchronisé : { $detail }
panel-transfer-sending = Envoi
panel-transfer-receiving = Réception
panel-transfer-offered = { $peer ->
    [user] L’utilisateur
   *[technician] Le technicien
} veut vous envoyer ceci.
panel-clear-finished = Effacer les transferts terminés
panel-accept = Accepter
panel-refuse = Refuser
panel-cancel = Annuler
panel-transfer-starting = Démarrage…
panel-transfer-waiting = En attente de l’accord { $peer ->
    [user] de l’utilisateur
   *[technician] du technicien
}…
panel-transfer-progress = { $percent } %   { $done } sur { $total }
panel-transfer-pace = { $rate }/s, encore { $left }
panel-seconds = { $seconds } s
panel-transfer-rate = , { $rate }/s
panel-transfer-received-saved = Reçu en { $took } : enregistré sous { $path }{ $more ->
    [0] { "" }
   *[other] { " " }et { $more } de plus
}
panel-transfer-received = Reçu en { $took }.
panel-transfer-sent = Envoyé en { $took }.
panel-transfer-stopped = Arrêté : { $reason }
panel-transfer-not-sent = Non envoyés : { $names }{ $more ->
    [0] { "" }
   *[other] { " " }et { $more } de plus
}
panel-chat-hint = Tapez un message, Entrée pour envoyer
panel-chat-hint-inactive = La discussion fonctionne une fois l’écran partagé
panel-chat-empty = Aucun message pour l’instant.
panel-chat-you = Vous :
panel-chat-from = { $peer } :
panel-send-file = Envoyer un fichier…
panel-send-file-hover = Envoyez un fichier ou un dossier ; vous pouvez aussi déposer des fichiers sur cette fenêtre
panel-send-path-label = Fichier ou dossier :
panel-send-path-hint = /chemin/du/fichier
panel-send = Envoyer
panel-drop-files = { $text } ({ $files } fichiers)

## Les panneaux du technicien (crates/viewer/src/collab_panels.rs)
panel-chat = Discussion
panel-chat-unread = Discussion ({ $unread })
panel-chat-heading = Discussion avec { $peer ->
    [user] l’utilisateur
   *[technician] le technicien
}
panel-chat-peer-label = { $peer ->
    [user] Utilisateur
   *[technician] Technicien
}
panel-drop-to-send = Déposez pour envoyer { $peer ->
    [user] à l’utilisateur
   *[technician] au technicien
}

## Le panneau de l’utilisateur (crates/host/src/collab_panel.rs)
panel-share-clipboard = Partager le presse-papiers
panel-share-clipboard-hover = Ce que vous copiez peut être collé de son côté, et inversement
panel-files = Fichiers
panel-files-drop-hint = Déposez des fichiers sur cette fenêtre pour les envoyer.
panel-chat-new = { $unread ->
    [one] { $unread } nouveau
   *[other] { $unread } nouveaux
}

## Renseignements système (crates/viewer/src/sysinfo_panel.rs)
sysinfo-button = Infos système
sysinfo-button-waiting = Infos système…
sysinfo-button-hover = Demander à l’utilisateur les renseignements système de cet ordinateur
sysinfo-title = Renseignements système
sysinfo-waiting = En attente de l’autorisation de l’utilisateur…
sysinfo-filter = Filtrer :
sysinfo-copy = Copier
sysinfo-copy-json = Copier le JSON
sysinfo-seconds = { $seconds } s
sysinfo-minutes = { $minutes } min
sysinfo-hours = { $hours } h { $minutes } min
sysinfo-days = { $days } j { $hours } h

# Les champs des renseignements système, selon leur clé JSON.
sysinfo-key-addresses = Adresses
sysinfo-key-cores = Cœurs
sysinfo-key-cpu = Processeur
sysinfo-key-default-route = Route par défaut
sysinfo-key-disks = Disques
sysinfo-key-displays = Écrans
sysinfo-key-dns-servers = Serveurs DNS
sysinfo-key-file-system = Système de fichiers
sysinfo-key-height = Hauteur
sysinfo-key-hostname = Nom d’hôte
sysinfo-key-kernel = Noyau
sysinfo-key-load-15m = Charge 15 min
sysinfo-key-load-1m = Charge 1 min
sysinfo-key-load-5m = Charge 5 min
sysinfo-key-mac = MAC
sysinfo-key-memory = Mémoire
sysinfo-key-model = Modèle
sysinfo-key-mount = Point de montage
sysinfo-key-name = Nom
sysinfo-key-network = Réseau
sysinfo-key-os = Système d’exploitation
sysinfo-key-pid = PID
sysinfo-key-primary = Principal
sysinfo-key-swap-total = Mémoire d’échange totale
sysinfo-key-swap-used = Mémoire d’échange utilisée
sysinfo-key-top-by-cpu = Plus gourmands en processeur
sysinfo-key-top-by-memory = Plus gourmands en mémoire
sysinfo-key-total = Total
sysinfo-key-uptime = Temps de fonctionnement
sysinfo-key-used = Utilisé
sysinfo-key-user = Utilisateur
sysinfo-key-width = Largeur

## Les statistiques (crates/viewer/src/stats.rs)
stats-fps = { $fps } images/s
stats-throughput = { $kbytes } ko/s
stats-round-trip = aller-retour { $ms } ms
stats-encode = encodage { $value }
stats-decode = décodage { $ms } ms
stats-lossy = avec perte { $value }
stats-input-to-pixel = de l’action à l’image ≈ { $ms } ms

## Les notes du technicien (crates/viewer/src/notes.rs)
notes-button = Notes
notes-button-hover = Vos notes et le résultat, pour le rapport de session
notes-title-ended = Avant de fermer : le résultat
notes-label = Notes (conservées avec le rapport de session) :
notes-outcome = Résultat :
notes-outcome-resolved = Résolu
notes-outcome-not-resolved = Non résolu
notes-outcome-escalated = Transmis au niveau supérieur
notes-summary = Résumé (facultatif) :
notes-close-without-outcome = Fermer sans résultat
notes-save-and-close = Enregistrer et fermer

## Le lecteur d’enregistrements (crates/viewer/src/player.rs)
player-play = Lecture
player-pause = Pause
player-speed = { $speed }x
player-cut-short = (tronqué)
player-cut-short-hover = Le fichier se termine au milieu d’un enregistrement : la lecture va jusqu’au dernier complet.
player-stopped = Arrêté : { $error }

## Pourquoi un transfert s’est arrêté (crates/collab-ui/src/reasons.rs), dans les panneaux et le terminal.
# `$detail` est cité tel quel : l’erreur d’une bibliothèque ou du système, ou les mots de l’autre côté.
transfer-why-not-sharing-yet = Les fichiers pourront être envoyés une fois l’écran partagé.
transfer-why-too-many-open = Au plus { $max } transferts peuvent être ouverts à la fois.
transfer-why-cannot-start = impossible de lancer le transfert : { $detail }
transfer-why-scan-failed = lecture impossible de ce qui est à envoyer : { $detail }
transfer-why-nothing-to-send = Il n’y a là aucun fichier à envoyer (dossier vide, ou seulement des liens et des fichiers spéciaux).
transfer-why-you-refused = Vous avez refusé les fichiers.
transfer-why-downloads-unusable = Le dossier de téléchargement ne peut pas être utilisé : { $detail }
transfer-why-you-cancelled = Vous l’avez annulé.
transfer-why-peer-cancelled = { $peer ->
    [user] L’utilisateur
   *[technician] Le technicien
} a annulé le transfert.
transfer-why-peer-stopped = { $peer ->
    [user] L’utilisateur
   *[technician] Le technicien
} a arrêté le transfert : { $detail }
transfer-why-refused-too-many = Refusé : { $max } transferts sont déjà ouverts.
transfer-why-refused-empty = Refusé : l’offre ne contient aucun fichier.
transfer-why-refused-invalid = Refusé : { $detail }
transfer-why-peer-refused = { $peer ->
    [user] L’utilisateur
   *[technician] Le technicien
} a refusé les fichiers.
transfer-why-impossible-resume = Le destinataire a demandé de reprendre à une position impossible.
transfer-why-stream-closed = Le canal de données n’est pas ouvert.
transfer-why-send-failed = l’envoi a échoué : { $detail }
transfer-why-receive-failed = la réception a échoué : { $detail }
transfer-why-no-longer-sharing = La session ne partage plus l’écran.
transfer-why-ended-while-sending = La session s’est terminée avant la fin du transfert.
transfer-why-ended-while-receiving = La session s’est terminée avant la fin du transfert ; proposez les mêmes fichiers dans une nouvelle session pour reprendre là où il s’est arrêté.
transfer-why-ended-unanswered = La session s’est terminée avant que vous répondiez à l’offre.

## Pourquoi le presse-papiers n’a pas été synchronisé (crates/collab-ui/src/reasons.rs). `$detail` : tel quel.
clipboard-why-not-shared = Votre presse-papiers n’a pas été partagé : { $detail }.
clipboard-why-unusable = Le presse-papiers ne peut pas être utilisé ici : { $detail }
clipboard-why-not-set = Le presse-papiers n’a pas pu être rempli : { $detail }
clipboard-why-peer-refused = L’autre côté ne l’a pas pris : { $detail }
