<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="fr_FR" sourcelanguage="en">
<context>
    <name>Regard</name>
    <message>
        <source>&amp;File</source>
        <translation>&amp;Fichier</translation>
    </message>
    <message>
        <source>&amp;Tools</source>
        <translation>&amp;Outils</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>&amp;Affichage</translation>
    </message>
    <message>
        <source>Abdomen</source>
        <translation>Abdomen</translation>
    </message>
    <message>
        <source>Accession</source>
        <translation>N° d'examen</translation>
    </message>
    <message>
        <source>All archives</source>
        <translation>Toutes les archives</translation>
    </message>
    <message>
        <source>Archive</source>
        <translation>Archive</translation>
    </message>
    <message>
        <source>Birth date</source>
        <translation>Date de naissance</translation>
    </message>
    <message>
        <source>Bone</source>
        <translation>Os</translation>
    </message>
    <message>
        <source>Brain</source>
        <translation>Cerveau</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Annuler</translation>
    </message>
    <message>
        <source>Clear measurements</source>
        <translation>Effacer les mesures</translation>
    </message>
    <message>
        <source>Crosshair</source>
        <translation>Réticule</translation>
    </message>
    <message>
        <source>Description</source>
        <translation>Description</translation>
    </message>
    <message>
        <source>Distance</source>
        <translation>Distance</translation>
    </message>
    <message>
        <source>Fit to window</source>
        <translation>Ajuster à la fenêtre</translation>
    </message>
    <message>
        <source>INS</source>
        <translation>INS</translation>
    </message>
    <message>
        <source>Image {n}/{total}</source>
        <translation>Image {n}/{total}</translation>
    </message>
    <message>
        <source>Import...</source>
        <translation>Importer...</translation>
    </message>
    <message>
        <source>Invert</source>
        <translation>Inverser</translation>
    </message>
    <message>
        <source>LPS {x:.1f}, {y:.1f}, {z:.1f} mm</source>
        <translation>LPS {x:.1f}, {y:.1f}, {z:.1f} mm</translation>
    </message>
    <message>
        <source>Layout {name}</source>
        <translation>Disposition {name}</translation>
    </message>
    <message>
        <source>Liver</source>
        <translation>Foie</translation>
    </message>
    <message>
        <source>Loading images</source>
        <translation>Chargement des images</translation>
    </message>
    <message>
        <source>Loading the viewer...</source>
        <translation>Chargement de la visionneuse...</translation>
    </message>
    <message>
        <source>Local</source>
        <translation>Local</translation>
    </message>
    <message>
        <source>Local imports</source>
        <translation>Imports locaux</translation>
    </message>
    <message>
        <source>Lung</source>
        <translation>Poumon</translation>
    </message>
    <message>
        <source>Mediastinum</source>
        <translation>Médiastin</translation>
    </message>
    <message>
        <source>Modality</source>
        <translation>Modalité</translation>
    </message>
    <message>
        <source>Next image</source>
        <translation>Image suivante</translation>
    </message>
    <message>
        <source>No image could be assembled</source>
        <translation>Aucune image n'a pu être assemblée</translation>
    </message>
    <message>
        <source>No images found in {path}</source>
        <translation>Aucune image trouvée dans {path}</translation>
    </message>
    <message>
        <source>No user logged in</source>
        <translation>Aucun utilisateur connecté</translation>
    </message>
    <message>
        <source>Open DICOMDIR...</source>
        <translation>Ouvrir un DICOMDIR...</translation>
    </message>
    <message>
        <source>Open a DICOMDIR</source>
        <translation>Ouvrir un DICOMDIR</translation>
    </message>
    <message>
        <source>Open a folder of DICOM files</source>
        <translation>Ouvrir un dossier de fichiers DICOM</translation>
    </message>
    <message>
        <source>Open folder...</source>
        <translation>Ouvrir un dossier...</translation>
    </message>
    <message>
        <source>Pan</source>
        <translation>Déplacer</translation>
    </message>
    <message>
        <source>Patient</source>
        <translation>Patient</translation>
    </message>
    <message>
        <source>Patient ID</source>
        <translation>IPP</translation>
    </message>
    <message>
        <source>Patient ID or INS</source>
        <translation>IPP ou INS</translation>
    </message>
    <message>
        <source>Patient name</source>
        <translation>Nom du patient</translation>
    </message>
    <message>
        <source>Position {pos}</source>
        <translation>Position {pos}</translation>
    </message>
    <message>
        <source>Presets</source>
        <translation>Préréglages</translation>
    </message>
    <message>
        <source>Previous image</source>
        <translation>Image précédente</translation>
    </message>
    <message>
        <source>Quit</source>
        <translation>Quitter</translation>
    </message>
    <message>
        <source>Reading {path}</source>
        <translation>Lecture de {path}</translation>
    </message>
    <message>
        <source>Recent</source>
        <translation>Récents</translation>
    </message>
    <message>
        <source>Scroll</source>
        <translation>Défilement</translation>
    </message>
    <message>
        <source>Search</source>
        <translation>Rechercher</translation>
    </message>
    <message>
        <source>Series</source>
        <translation>Séries</translation>
    </message>
    <message>
        <source>Source</source>
        <translation>Source</translation>
    </message>
    <message>
        <source>Stroke</source>
        <translation>AVC</translation>
    </message>
    <message>
        <source>Studies</source>
        <translation>Examens</translation>
    </message>
    <message>
        <source>Study date</source>
        <translation>Date de l'examen</translation>
    </message>
    <message>
        <source>Subdural</source>
        <translation>Sous-dural</translation>
    </message>
    <message>
        <source>Temporal bone</source>
        <translation>Rocher</translation>
    </message>
    <message>
        <source>Thickness {mm} mm</source>
        <translation>Épaisseur {mm} mm</translation>
    </message>
    <message>
        <source>Tools</source>
        <translation>Outils</translation>
    </message>
    <message>
        <source>True size 1:1</source>
        <translation>Taille réelle 1:1</translation>
    </message>
    <message>
        <source>User: {name}</source>
        <translation>Utilisateur : {name}</translation>
    </message>
    <message>
        <source>Value {v:g}</source>
        <translation>Valeur {v:g}</translation>
    </message>
    <message>
        <source>Window presets</source>
        <translation>Fenêtres prédéfinies</translation>
    </message>
    <message>
        <source>Window/level</source>
        <translation>Fenêtrage</translation>
    </message>
    <message>
        <source>YYYYMMDD</source>
        <translation>AAAAMMJJ</translation>
    </message>
    <message>
        <source>Zoom</source>
        <translation>Zoom</translation>
    </message>
    <message>
        <source>Zoom {z}</source>
        <translation>Zoom {z}</translation>
    </message>
    <message>
        <source>images</source>
        <translation>images</translation>
    </message>
    <message>
        <source>The images could not be shown: {error}</source>
        <translation>Les images n'ont pas pu être affichées : {error}</translation>
    </message>
    <message>
        <source>Cine</source>
        <translation>Ciné</translation>
    </message>
    <message>
        <source>Synchronised scrolling</source>
        <translation>Défilement synchronisé</translation>
    </message>
    <message>
        <source>Reference lines</source>
        <translation>Lignes de référence</translation>
    </message>
    <message>
        <source>Synchronised scrolling on</source>
        <translation>Défilement synchronisé activé</translation>
    </message>
    <message>
        <source>Synchronised scrolling off</source>
        <translation>Défilement synchronisé désactivé</translation>
    </message>
    <message>
        <source>No {preset} preset for {modality} images</source>
        <translation>Pas de préréglage {preset} pour les images {modality}</translation>
    </message>
    <message>
        <source>Rotate 90 degrees</source>
        <translation>Rotation de 90 degrés</translation>
    </message>
    <message>
        <source>Flip horizontally</source>
        <translation>Miroir horizontal</translation>
    </message>
    <message>
        <source>Flip vertically</source>
        <translation>Miroir vertical</translation>
    </message>
    <message>
        <source>radiologist</source>
        <translation>radiologue</translation>
    </message>
    <message>
        <source>referring physician</source>
        <translation>médecin demandeur</translation>
    </message>
    <message>
        <source>technologist</source>
        <translation>manipulateur</translation>
    </message>
    <message>
        <source>secretary</source>
        <translation>secrétaire</translation>
    </message>
    <message>
        <source>administrator</source>
        <translation>administrateur</translation>
    </message>
    <message>
        <source>The access trail cannot be written, so nobody can log in: {reason}</source>
        <translation>La traçabilité des accès ne peut pas être écrite, personne ne peut donc se connecter : {reason}</translation>
    </message>
    <message>
        <source>Session of {name} locked after inactivity. Enter your password to continue.</source>
        <translation>Session de {name} verrouillée après inactivité. Saisissez votre mot de passe pour continuer.</translation>
    </message>
    <message>
        <source>You are about to open this patient's images outside the usual rules. The emergency, its reason and everything you open are recorded in the access trail under your name and may be reviewed.</source>
        <translation>Vous allez ouvrir les images de ce patient en dehors des règles habituelles. L'urgence, son motif et tout ce que vous ouvrez sont enregistrés dans la traçabilité des accès à votre nom et pourront être contrôlés.</translation>
    </message>
    <message>
        <source>Reason (required), e.g. unconscious patient in the emergency room</source>
        <translation>Motif (obligatoire), par ex. patient inconscient aux urgences</translation>
    </message>
    <message>
        <source>Your role ({role}) is not a clinical one: the site policy will refuse an emergency access.</source>
        <translation>Votre rôle ({role}) n'est pas un rôle clinique : la politique du site refusera un accès d'urgence.</translation>
    </message>
    <message>
        <source>The access cannot be recorded in the audit trail, so the study is not opened (fail closed). Reason: {reason}</source>
        <translation>L'accès ne peut pas être enregistré dans la traçabilité, l'examen n'est donc pas ouvert (sécurité par défaut). Motif : {reason}</translation>
    </message>
    <message>
        <source>The patient has opposed sharing their images outside the site that produced them: this workstation may not open them.</source>
        <translation>Le patient s'est opposé au partage de ses images en dehors du site qui les a produites : ce poste ne peut pas les ouvrir.</translation>
    </message>
    <message>
        <source>You have no care relationship with this patient (not on your patient list, and you are not the referring physician of the study). In an emergency, use Break the glass.</source>
        <translation>Vous n'avez pas de relation de soins avec ce patient (il n'est pas dans votre liste de patients et vous n'êtes pas le médecin demandeur de l'examen). En cas d'urgence, utilisez l'accès d'urgence (bris de glace).</translation>
    </message>
    <message>
        <source>{name} ({role})</source>
        <translation>{name} ({role})</translation>
    </message>
    <message>
        <source>locked</source>
        <translation>verrouillée</translation>
    </message>
    <message>
        <source>EMERGENCY ACCESS {time}</source>
        <translation>ACCÈS D'URGENCE {time}</translation>
    </message>
    <message>
        <source>Logged in as {user_id}</source>
        <translation>Connecté en tant que {user_id}</translation>
    </message>
    <message>
        <source>Log in to Regard</source>
        <translation>Connexion à Regard</translation>
    </message>
    <message>
        <source>Login</source>
        <translation>Identifiant</translation>
    </message>
    <message>
        <source>Password</source>
        <translation>Mot de passe</translation>
    </message>
    <message>
        <source>Log in</source>
        <translation>Se connecter</translation>
    </message>
    <message>
        <source>Unknown login or wrong password</source>
        <translation>Identifiant inconnu ou mot de passe erroné</translation>
    </message>
    <message>
        <source>Unlock</source>
        <translation>Déverrouiller</translation>
    </message>
    <message>
        <source>Another user...</source>
        <translation>Autre utilisateur...</translation>
    </message>
    <message>
        <source>Wrong password</source>
        <translation>Mot de passe erroné</translation>
    </message>
    <message>
        <source>Break the glass: emergency access</source>
        <translation>Bris de glace : accès d'urgence</translation>
    </message>
    <message>
        <source>INS {ins}</source>
        <translation>INS {ins}</translation>
    </message>
    <message>
        <source>patient ID {pid}</source>
        <translation>IPP {pid}</translation>
    </message>
    <message>
        <source>Patient: {who}</source>
        <translation>Patient : {who}</translation>
    </message>
    <message>
        <source>{n} minutes</source>
        <translation>{n} minutes</translation>
    </message>
    <message>
        <source>Declare the emergency</source>
        <translation>Déclarer l'urgence</translation>
    </message>
    <message>
        <source>Reason</source>
        <translation>Motif</translation>
    </message>
    <message>
        <source>Duration</source>
        <translation>Durée</translation>
    </message>
    <message>
        <source>Give the reason for the emergency (a few words).</source>
        <translation>Indiquez le motif de l'urgence (quelques mots).</translation>
    </message>
    <message>
        <source>Your session is locked: enter your password again.</source>
        <translation>Votre session est verrouillée : saisissez de nouveau votre mot de passe.</translation>
    </message>
    <message>
        <source>Nobody is identified at this station: {reason}</source>
        <translation>Personne n'est identifié sur ce poste : {reason}</translation>
    </message>
    <message>
        <source>Only clinicians may declare an emergency access.</source>
        <translation>Seuls les cliniciens peuvent déclarer un accès d'urgence.</translation>
    </message>
    <message>
        <source>Your role does not allow this action ({reason}).</source>
        <translation>Votre rôle ne permet pas cette action ({reason}).</translation>
    </message>
    <message>
        <source>Access refused: {reason}</source>
        <translation>Accès refusé : {reason}</translation>
    </message>
    <message>
        <source>Access trail unavailable</source>
        <translation>Traçabilité des accès indisponible</translation>
    </message>
    <message>
        <source>Access refused</source>
        <translation>Accès refusé</translation>
    </message>
    <message>
        <source>Break the glass...</source>
        <translation>Bris de glace...</translation>
    </message>
    <message>
        <source>You are in diagnostic reading mode. Open the exam on this screen anyway? Your acknowledgement is recorded in the access trail.</source>
        <translation>Vous êtes en mode lecture diagnostique. Ouvrir quand même l'examen sur cet écran ? Votre confirmation est enregistrée dans la traçabilité des accès.</translation>
    </message>
    <message>
        <source>Screen not fit for diagnosis</source>
        <translation>Écran inapte au diagnostic</translation>
    </message>
    <message>
        <source>Read here anyway</source>
        <translation>Lire ici quand même</translation>
    </message>
    <message>
        <source>Do not open</source>
        <translation>Ne pas ouvrir</translation>
    </message>
    <message>
        <source>Date and time</source>
        <translation>Date et heure</translation>
    </message>
    <message>
        <source>User</source>
        <translation>Utilisateur</translation>
    </message>
    <message>
        <source>User ID</source>
        <translation>Identifiant utilisateur</translation>
    </message>
    <message>
        <source>Role</source>
        <translation>Rôle</translation>
    </message>
    <message>
        <source>Action</source>
        <translation>Action</translation>
    </message>
    <message>
        <source>Access mode</source>
        <translation>Mode d'accès</translation>
    </message>
    <message>
        <source>Outcome</source>
        <translation>Résultat</translation>
    </message>
    <message>
        <source>Study</source>
        <translation>Examen</translation>
    </message>
    <message>
        <source>Screen</source>
        <translation>Écran</translation>
    </message>
    <message>
        <source>search</source>
        <translation>recherche</translation>
    </message>
    <message>
        <source>retrieve</source>
        <translation>récupération</translation>
    </message>
    <message>
        <source>transferred</source>
        <translation>transféré</translation>
    </message>
    <message>
        <source>view images</source>
        <translation>consultation des images</translation>
    </message>
    <message>
        <source>view report</source>
        <translation>consultation du compte rendu</translation>
    </message>
    <message>
        <source>export</source>
        <translation>export</translation>
    </message>
    <message>
        <source>print</source>
        <translation>impression</translation>
    </message>
    <message>
        <source>emergency declared</source>
        <translation>urgence déclarée</translation>
    </message>
    <message>
        <source>emergency ended</source>
        <translation>urgence terminée</translation>
    </message>
    <message>
        <source>care relationship declared</source>
        <translation>relation de soins déclarée</translation>
    </message>
    <message>
        <source>login</source>
        <translation>connexion</translation>
    </message>
    <message>
        <source>logout</source>
        <translation>déconnexion</translation>
    </message>
    <message>
        <source>settings changed</source>
        <translation>réglages modifiés</translation>
    </message>
    <message>
        <source>allowed</source>
        <translation>autorisé</translation>
    </message>
    <message>
        <source>refused</source>
        <translation>refusé</translation>
    </message>
    <message>
        <source>failed</source>
        <translation>échec</translation>
    </message>
    <message>
        <source>The consultation of the trail cannot be recorded, so the trail is not shown: {reason}</source>
        <translation>La consultation de la traçabilité ne peut pas être enregistrée, elle n'est donc pas affichée : {reason}</translation>
    </message>
    <message>
        <source>not diagnostic ({cls}, {need} needed)</source>
        <translation>non diagnostique ({cls}, {need} requis)</translation>
    </message>
    <message>
        <source>acknowledged</source>
        <translation>confirmé</translation>
    </message>
    <message>
        <source>diagnostic ({cls})</source>
        <translation>diagnostique ({cls})</translation>
    </message>
    <message>
        <source>Access trail</source>
        <translation>Traçabilité des accès</translation>
    </message>
    <message>
        <source>Show</source>
        <translation>Afficher</translation>
    </message>
    <message>
        <source>Verify the journal</source>
        <translation>Vérifier le journal</translation>
    </message>
    <message>
        <source>Enter a patient ID or INS.</source>
        <translation>Saisissez l'IPP ou l'INS d'un patient.</translation>
    </message>
    <message>
        <source>{n} accesses recorded, {bg} under emergency access (break the glass)</source>
        <translation>{n} accès enregistrés, dont {bg} en accès d'urgence (bris de glace)</translation>
    </message>
    <message>
        <source>No access recorded</source>
        <translation>Aucun accès enregistré</translation>
    </message>
    <message>
        <source>BREAK THE GLASS</source>
        <translation>BRIS DE GLACE</translation>
    </message>
    <message>
        <source>normal</source>
        <translation>normal</translation>
    </message>
    <message>
        <source>No audit journal at {path}</source>
        <translation>Pas de journal d'audit dans {path}</translation>
    </message>
    <message>
        <source>Audit journal intact: {n} records verified</source>
        <translation>Journal d'audit intact : {n} enregistrements vérifiés</translation>
    </message>
    <message>
        <source>The audit journal is broken at record {seq}: {problem}</source>
        <translation>Le journal d'audit est rompu à l'enregistrement {seq} : {problem}</translation>
    </message>
    <message>
        <source>diagnostic</source>
        <translation>diagnostic</translation>
    </message>
    <message>
        <source>mammography</source>
        <translation>mammographie</translation>
    </message>
    <message>
        <source>review</source>
        <translation>revue</translation>
    </message>
    <message>
        <source>The QA of this screen has never been done (period {period} days).</source>
        <translation>Le contrôle qualité de cet écran n'a jamais été fait (périodicité {period} jours).</translation>
    </message>
    <message>
        <source>The QA of this screen is due: last on {date}, {age} days ago (period {period} days).</source>
        <translation>Le contrôle qualité de cet écran est à faire : dernier le {date}, il y a {age} jours (périodicité {period} jours).</translation>
    </message>
    <message>
        <source>TG18-LN{number:02d}: arrows or Space for the next patch, Esc or a click to close</source>
        <translation>TG18-LN{number:02d} : flèches ou Espace pour la plage suivante, Échap ou un clic pour fermer</translation>
    </message>
    <message>
        <source>Last QA: {date}, {outcome}, largest deviation {dev} at patch {level}</source>
        <translation>Dernier contrôle : {date}, {outcome}, plus grand écart {dev} à la plage {level}</translation>
    </message>
    <message>
        <source>Largest deviation from the GSDF: {dev} (tolerance {tol}) between patches {a} and {b}</source>
        <translation>Plus grand écart à la GSDF : {dev} (tolérance {tol}) entre les plages {a} et {b}</translation>
    </message>
    <message>
        <source>Screen QA</source>
        <translation>Contrôle qualité de l'écran</translation>
    </message>
    <message>
        <source>Show TG18-QC</source>
        <translation>Afficher TG18-QC</translation>
    </message>
    <message>
        <source>Show TG18-LN</source>
        <translation>Afficher TG18-LN</translation>
    </message>
    <message>
        <source>Patch</source>
        <translation>Plage</translation>
    </message>
    <message>
        <source>Pattern</source>
        <translation>Mire</translation>
    </message>
    <message>
        <source>Level</source>
        <translation>Niveau</translation>
    </message>
    <message>
        <source>Luminance (cd/m²)</source>
        <translation>Luminance (cd/m²)</translation>
    </message>
    <message>
        <source>Ambient luminance</source>
        <translation>Luminance ambiante</translation>
    </message>
    <message>
        <source>Screen role</source>
        <translation>Usage de l'écran</translation>
    </message>
    <message>
        <source>Import CSV/JSON...</source>
        <translation>Importer CSV/JSON...</translation>
    </message>
    <message>
        <source>Evaluate</source>
        <translation>Évaluer</translation>
    </message>
    <message>
        <source>Save the result</source>
        <translation>Enregistrer le résultat</translation>
    </message>
    <message>
        <source>No QA result recorded for this screen.</source>
        <translation>Aucun résultat de contrôle enregistré pour cet écran.</translation>
    </message>
    <message>
        <source>passed</source>
        <translation>conforme</translation>
    </message>
    <message>
        <source>No luminance for {patch}</source>
        <translation>Pas de luminance pour {patch}</translation>
    </message>
    <message>
        <source>{patch}: {value} is not a number</source>
        <translation>{patch} : {value} n'est pas un nombre</translation>
    </message>
    <message>
        <source>Import measured luminances</source>
        <translation>Importer les luminances mesurées</translation>
    </message>
    <message>
        <source>Measurements (*.csv *.json);;All files (*)</source>
        <translation>Mesures (*.csv *.json);;Tous les fichiers (*)</translation>
    </message>
    <message>
        <source>Imported {n} measurements from {file}</source>
        <translation>{n} mesures importées de {file}</translation>
    </message>
    <message>
        <source>PASS</source>
        <translation>CONFORME</translation>
    </message>
    <message>
        <source>FAIL</source>
        <translation>NON CONFORME</translation>
    </message>
    <message>
        <source>Lmax {lmax} cd/m², Lmin {lmin} cd/m², luminance ratio {ratio}</source>
        <translation>Lmax {lmax} cd/m², Lmin {lmin} cd/m², rapport de luminance {ratio}</translation>
    </message>
    <message>
        <source>Audit trail...</source>
        <translation>Traçabilité des accès...</translation>
    </message>
    <message>
        <source>Screen QA...</source>
        <translation>Contrôle qualité de l'écran...</translation>
    </message>
    <message>
        <source>Reading mode: diagnostic</source>
        <translation>Mode de lecture : diagnostic</translation>
    </message>
    <message>
        <source>Reading mode: consultation</source>
        <translation>Mode de lecture : consultation</translation>
    </message>
    <message>
        <source>Log in...</source>
        <translation>Se connecter...</translation>
    </message>
    <message>
        <source>Lock the session</source>
        <translation>Verrouiller la session</translation>
    </message>
    <message>
        <source>&amp;Access</source>
        <translation>&amp;Accès</translation>
    </message>
    <message>
        <source>Select a study first.</source>
        <translation>Sélectionnez d'abord un examen.</translation>
    </message>
    <message>
        <source>Not opened: diagnostic reading on this screen was not acknowledged.</source>
        <translation>Non ouvert : la lecture diagnostique sur cet écran n'a pas été confirmée.</translation>
    </message>
    <message>
        <source>Emergency access declared for {minutes} minutes; it is recorded in the access trail.</source>
        <translation>Accès d'urgence déclaré pour {minutes} minutes ; il est enregistré dans la traçabilité des accès.</translation>
    </message>
    <message>
        <source>Angle</source>
        <translation>Angle</translation>
    </message>
    <message>
        <source>Curved MPR</source>
        <translation>MPR curviligne</translation>
    </message>
    <message>
        <source>Elliptical ROI</source>
        <translation>ROI elliptique</translation>
    </message>
    <message>
        <source>Cycle slab mode</source>
        <translation>Changer le mode de coupe épaisse</translation>
    </message>
    <message>
        <source>MIP</source>
        <translation>MIP</translation>
    </message>
    <message>
        <source>MinIP</source>
        <translation>MinIP</translation>
    </message>
    <message>
        <source>Mean</source>
        <translation>Moyenne</translation>
    </message>
    <message>
        <source>Thin slice</source>
        <translation>Coupe fine</translation>
    </message>
    <message>
        <source>Slab thickness</source>
        <translation>Épaisseur de la coupe épaisse</translation>
    </message>
    <message>
        <source>Thick slab (B cycles)</source>
        <translation>Coupe épaisse (B pour changer)</translation>
    </message>
    <message>
        <source>Regard - viewer {n}</source>
        <translation>Regard - visionneuse {n}</translation>
    </message>
    <message>
        <source>New window on screen {n}</source>
        <translation>Nouvelle fenêtre sur l'écran {n}</translation>
    </message>
    <message>
        <source>3-D preset</source>
        <translation>Préréglage 3D</translation>
    </message>
    <message>
        <source>Windows</source>
        <translation>Fenêtres</translation>
    </message>
    <message>
        <source>Archive {name} is not configured</source>
        <translation>L'archive {name} n'est pas configurée</translation>
    </message>
    <message>
        <source>Archive {name}: {error}</source>
        <translation>Archive {name} : {error}</translation>
    </message>
    <message>
        <source>No archive is configured</source>
        <translation>Aucune archive n'est configurée</translation>
    </message>
    <message>
        <source>Other studies of this patient</source>
        <translation>Autres examens de ce patient</translation>
    </message>
    <message>
        <source>Retrieval cancelled</source>
        <translation>Récupération annulée</translation>
    </message>
    <message>
        <source>Retrieve/Open</source>
        <translation>Récupérer/Ouvrir</translation>
    </message>
    <message>
        <source>Searching {names}...</source>
        <translation>Recherche dans {names}...</translation>
    </message>
    <message>
        <source>cancelled</source>
        <translation>annulée</translation>
    </message>
    <message>
        <source>complete</source>
        <translation>terminée</translation>
    </message>
    <message>
        <source>waiting for the archive</source>
        <translation>en attente de l'archive</translation>
    </message>
    <message>
        <source>{done}/{total} images, {mb:.1f} MB, {rate:.1f} MB/s</source>
        <translation>{done}/{total} images, {mb:.1f} Mo, {rate:.1f} Mo/s</translation>
    </message>
    <message>
        <source>{n} images retrieved from {name}</source>
        <translation>{n} images récupérées de {name}</translation>
    </message>
    <message>
        <source>{n} studies found</source>
        <translation>{n} examens trouvés</translation>
    </message>
    <message>
        <source>Add stage</source>
        <translation>Ajouter une étape</translation>
    </message>
    <message>
        <source>Add viewport</source>
        <translation>Ajouter une fenêtre</translation>
    </message>
    <message>
        <source>Another protocol is already called {name}</source>
        <translation>Un autre protocole s'appelle déjà {name}</translation>
    </message>
    <message>
        <source>Applies to studies with</source>
        <translation>S'applique aux examens avec</translation>
    </message>
    <message>
        <source>Body part</source>
        <translation>Région anatomique</translation>
    </message>
    <message>
        <source>Cannot write {path}: {error}</source>
        <translation>Impossible d'écrire {path} : {error}</translation>
    </message>
    <message>
        <source>Chest wall</source>
        <translation>Paroi thoracique</translation>
    </message>
    <message>
        <source>Choose</source>
        <translation>Choix</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>Fermer</translation>
    </message>
    <message>
        <source>Default restored: {name}</source>
        <translation>Protocole par défaut rétabli : {name}</translation>
    </message>
    <message>
        <source>Duplicate</source>
        <translation>Dupliquer</translation>
    </message>
    <message>
        <source>Edit hanging protocols...</source>
        <translation>Modifier les protocoles d'affichage...</translation>
    </message>
    <message>
        <source>Fill empty cells with the remaining series</source>
        <translation>Remplir les fenêtres vides avec les séries restantes</translation>
    </message>
    <message>
        <source>Hanging protocol</source>
        <translation>Protocole d'affichage</translation>
    </message>
    <message>
        <source>Hanging protocol {protocol}, stage {n}/{total}: {stage}</source>
        <translation>Protocole d'affichage {protocol}, étape {n}/{total} : {stage}</translation>
    </message>
    <message>
        <source>Hanging protocols</source>
        <translation>Protocoles d'affichage</translation>
    </message>
    <message>
        <source>Head up</source>
        <translation>Tête en haut</translation>
    </message>
    <message>
        <source>Index</source>
        <translation>Rang</translation>
    </message>
    <message>
        <source>Laterality</source>
        <translation>Latéralité</translation>
    </message>
    <message>
        <source>Layout</source>
        <translation>Disposition</translation>
    </message>
    <message>
        <source>Mirror</source>
        <translation>Miroir</translation>
    </message>
    <message>
        <source>Move down</source>
        <translation>Descendre</translation>
    </message>
    <message>
        <source>Move up</source>
        <translation>Monter</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>Nom</translation>
    </message>
    <message>
        <source>New</source>
        <translation>Nouveau</translation>
    </message>
    <message>
        <source>New protocol</source>
        <translation>Nouveau protocole</translation>
    </message>
    <message>
        <source>Next stage</source>
        <translation>Étape suivante</translation>
    </message>
    <message>
        <source>No study hung by a hanging protocol</source>
        <translation>Aucun examen affiché par un protocole d'affichage</translation>
    </message>
    <message>
        <source>Orientation</source>
        <translation>Orientation</translation>
    </message>
    <message>
        <source>Previous stage</source>
        <translation>Étape précédente</translation>
    </message>
    <message>
        <source>Priority</source>
        <translation>Priorité</translation>
    </message>
    <message>
        <source>Priors at least</source>
        <translation>Antériorités au moins</translation>
    </message>
    <message>
        <source>Priors at most</source>
        <translation>Antériorités au plus</translation>
    </message>
    <message>
        <source>Remove stage</source>
        <translation>Supprimer l'étape</translation>
    </message>
    <message>
        <source>Remove viewport</source>
        <translation>Supprimer la fenêtre</translation>
    </message>
    <message>
        <source>Restore default</source>
        <translation>Rétablir le défaut</translation>
    </message>
    <message>
        <source>Same description as cell</source>
        <translation>Même description que la fenêtre</translation>
    </message>
    <message>
        <source>Save</source>
        <translation>Enregistrer</translation>
    </message>
    <message>
        <source>Saved to {path}</source>
        <translation>Enregistré dans {path}</translation>
    </message>
    <message>
        <source>Series description</source>
        <translation>Description de la série</translation>
    </message>
    <message>
        <source>Shown with at least this many priors</source>
        <translation>Affichée à partir de ce nombre d'antériorités</translation>
    </message>
    <message>
        <source>Stage</source>
        <translation>Étape</translation>
    </message>
    <message>
        <source>Stage name</source>
        <translation>Nom de l'étape</translation>
    </message>
    <message>
        <source>Stages</source>
        <translation>Étapes</translation>
    </message>
    <message>
        <source>Switched on</source>
        <translation>Activé</translation>
    </message>
    <message>
        <source>The protocol needs a name</source>
        <translation>Le protocole doit avoir un nom</translation>
    </message>
    <message>
        <source>The protocol needs at least one stage</source>
        <translation>Le protocole doit avoir au moins une étape</translation>
    </message>
    <message>
        <source>This hanging protocol has a single stage</source>
        <translation>Ce protocole d'affichage n'a qu'une étape</translation>
    </message>
    <message>
        <source>View</source>
        <translation>Incidence</translation>
    </message>
    <message>
        <source>Viewports, left to right then top to bottom:</source>
        <translation>Fenêtres, de gauche à droite puis de haut en bas :</translation>
    </message>
    <message>
        <source>any</source>
        <translation>indifférent</translation>
    </message>
    <message>
        <source>default</source>
        <translation>par défaut</translation>
    </message>
    <message>
        <source>e.g. CT, MR (empty: any)</source>
        <translation>p. ex. CT, MR (vide : toutes)</translation>
    </message>
    <message>
        <source>off</source>
        <translation>désactivé</translation>
    </message>
    <message>
        <source>regular expression, e.g. HEAD|BRAIN</source>
        <translation>expression régulière, p. ex. HEAD|BRAIN</translation>
    </message>
    <message>
        <source>regular expression, e.g. angio</source>
        <translation>expression régulière, p. ex. angio</translation>
    </message>
    <message>
        <source>yours</source>
        <translation>le vôtre</translation>
    </message>
    <message>
        <source>yours, replaces the default</source>
        <translation>le vôtre, remplace celui par défaut</translation>
    </message>
    <message>
        <source>Stage {stage}, viewport {cell}: {column} must be a whole number ({value})</source>
        <translation>Étape {stage}, fenêtre {cell} : {column} doit être un nombre entier ({value})</translation>
    </message>
    <message>
        <source>Loading {n}/{total}</source>
        <translation>Chargement {n}/{total}</translation>
    </message>
    <message>
        <source>{n}/{total} images ({why})</source>
        <translation>{n}/{total} images ({why})</translation>
    </message>
    <message>
        <source>retrieval cancelled</source>
        <translation>récupération annulée</translation>
    </message>
    <message>
        <source>retrieval failed</source>
        <translation>échec de la récupération</translation>
    </message>
    <message>
        <source>Loading the volume...</source>
        <translation>Chargement du volume...</translation>
    </message>
    <message>
        <source>{archive} (cached)</source>
        <translation>{archive} (en cache)</translation>
    </message>
    <message>
        <source>Delete</source>
        <translation>Supprimer</translation>
    </message>
    <message>
        <source>Deleted: {name}</source>
        <translation>Supprimé : {name}</translation>
    </message>
    <message>
        <source>Length {mm} mm</source>
        <translation>Longueur {mm} mm</translation>
    </message>
    <message>
        <source>Angle {deg}°</source>
        <translation>Angle {deg}°</translation>
    </message>
    <message>
        <source>Panoramic</source>
        <translation>Panoramique</translation>
    </message>
</context>
</TS>
