# La fenêtre du technicien (crates/viewer/src/app.rs, toolbar.rs, hostkey.rs).

## Où en est la séance (à gauche de la barre d’outils)
viewer-phase-connecting = Connexion
viewer-phase-waiting = En attente du consentement
viewer-phase-viewing = Visualisation
viewer-phase-control = Contrôle
viewer-phase-reconnecting = Reconnexion
viewer-phase-ended = Terminée
viewer-status-connecting = Connexion au relais…
viewer-status-looking = Recherche de la séance…
viewer-status-checking = Vérification du code…
viewer-status-reconnecting = La connexion a été perdue ; nouvelle tentative pendant { $seconds } s au plus…
viewer-status-reconnected = Reconnecté.
viewer-status-waiting = En attente de l’autorisation de l’utilisateur…
viewer-status-control = Vous pouvez utiliser la souris et le clavier de l’utilisateur.
viewer-status-viewing = Vous voyez l’écran ; demandez le contrôle pour l’utiliser.
viewer-status-not-allowed = L’utilisateur ne vous a pas autorisé à voir l’écran.
viewer-status-control-not-sent = Demande de contrôle non envoyée : réessayez dans { $seconds } s.
viewer-status-control-declined = L’utilisateur a refusé le contrôle ; vous voyez toujours l’écran.
viewer-status-rated = L’utilisateur a donné la note de { $rating }/5 à la séance.
viewer-status-rated-comment = L’utilisateur a donné la note de { $rating }/5 à la séance : { $comment }
viewer-status-recording-failed = L’enregistrement a échoué : { $reason }
viewer-status-finishing = Fin de la séance : en attente de l’avis de l’utilisateur (une minute au plus)…
viewer-status-ended = Séance terminée : { $reason }
viewer-check-number = Numéro de vérification : { $number }
viewer-fps = { $fps } im/s
viewer-stats-waiting = Statistiques : en attente d’images
viewer-end-session = Terminer la séance
viewer-end-now = Terminer maintenant
viewer-end-hint = Mettre fin à la séance pour vous deux
viewer-host-key-note = Raccourcis : { $key } + touche

## L’image
viewer-fit = Ajuster
viewer-fit-hint = Afficher tout l’écran distant dans la fenêtre
viewer-actual-hint = Un pixel distant par pixel (barres de défilement s’il est plus grand)
viewer-fullscreen = Plein écran
viewer-fullscreen-hint = Activer ou désactiver le plein écran
viewer-monitor-hint = Quel écran de l’utilisateur afficher
viewer-whole-desktop = Bureau entier ({ $width }×{ $height })
viewer-whole-desktop-short = Bureau entier
viewer-monitor = { $name } — { $width }×{ $height }
viewer-monitor-primary = { $name } — { $width }×{ $height }, principal

## Le clavier
viewer-keyboard-mode = Clavier : { $mode }
viewer-keymode-text = texte
viewer-keymode-physical = physique
viewer-keymode-text-label = Texte : tape ce que vous tapez, quelle que soit la disposition
viewer-keymode-physical-label = Physique : les touches par position (même disposition, jeux)
viewer-keyboard-hint = Comment vos touches parviennent à l’ordinateur distant : comme du texte, ou comme des touches physiques
viewer-send-keys = Touches
viewer-send-keys-hint = Envoyer des touches que votre propre bureau garderait pour lui (Ctrl+Alt+Suppr : le raccourci)
viewer-key-right-ctrl = Ctrl droit
viewer-key-left-ctrl = Ctrl gauche
viewer-key-right-alt = Alt droit
viewer-key-left-alt = Alt gauche
viewer-key-right-shift = Maj droite
viewer-key-left-shift = Maj gauche
viewer-key-right-super = Super droit
viewer-key-left-super = Super gauche

## La séance
viewer-request-control = Demander le contrôle
viewer-control-requested = Contrôle demandé…
viewer-request-control-hint = Demander à l’utilisateur la permission d’utiliser sa souris et son clavier
viewer-release-control = Rendre le contrôle
viewer-release-control-hint = Rendre le contrôle à l’utilisateur : vous continuez de voir son écran
viewer-clipboard-shared = Presse-papiers partagé
viewer-clipboard-off-by-you = Presse-papiers coupé (vous)
viewer-clipboard-off-by-user = Presse-papiers coupé (utilisateur)
viewer-clipboard-hint = Votre côté du partage du presse-papiers : les presse-papiers circulent s’il est activé et si l’utilisateur le permet
viewer-more = Plus
viewer-more-showing = Plus •
viewer-more-hint = Statistiques, Montrer mon écran (• pendant que vous le montrez), infos système, notes
viewer-stats = Statistiques
viewer-stats-hint = Fréquence d’images, aller-retour, débit et temps de traitement par-dessus l’image
viewer-record = Enregistrer
viewer-record-asking = Demande à l’utilisateur… (annuler)
viewer-record-stop = Arrêter l’enregistrement
viewer-record-refused = Enregistrer (refusé)
viewer-record-failed = Enregistrer (échec)
viewer-record-hint = Enregistrer la séance (l’utilisateur est d’abord consulté et le voit sur sa barre)
viewer-show-my-screen = Montrer mon écran
viewer-show-my-screen-hint = Montrer votre propre écran à l’utilisateur (il regarde seulement et peut le fermer)
